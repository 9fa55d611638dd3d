/**
 * Whether a signed statement is about *this* image: sigstore-js verifies signatures, not what they are about.
 * The checks are cosign's: `SimpleClaimVerifier` (simple signing's `docker-manifest-digest`) and
 * `IntotoSubjectClaimVerifier` (an in-toto subject digest).
 */
import {quoted} from '../ref/text.ts'
import type {Candidate} from './types.ts'

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature'

/** Why a simple-signing payload is not about `digest`, or null. Like cosign, `docker-reference` is ignored. */
export function simpleSigningProblem(payload: Uint8Array, digest: string): string | null {
  const doc = parseObject(payload)
  if (doc === null) return 'the simple-signing payload is not a JSON object'
  const critical = doc['critical'] as {type?: unknown; image?: Record<string, unknown>} | undefined
  if (critical?.type !== SIMPLE_SIGNING_TYPE) {
    return `the payload's critical.type is ${quote(critical?.type)}, not ${quote(SIMPLE_SIGNING_TYPE)}`
  }
  const signed = critical.image?.['docker-manifest-digest']
  if (signed !== digest) return `the signature is for image ${quote(signed)}, not ${digest}`
  return null
}

/** Why a DSSE payload is not an in-toto statement about `digest` (some `subject[].digest[alg] === hex`), or null. */
export function inTotoProblem(payloadType: string, payload: Uint8Array, digest: string): string | null {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) return `the DSSE payload type is ${quote(payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`
  const statement = parseObject(payload)
  if (statement === null) return 'the DSSE payload is not a JSON in-toto statement'
  const subjects = statement['subject']
  if (!Array.isArray(subjects)) return 'the in-toto statement has no subject list'
  const [algorithm = '', hex = ''] = digest.split(':')
  const bound = subjects.some((s: unknown) => (s as {digest?: Record<string, unknown>} | null)?.digest?.[algorithm] === hex)
  return bound ? null : `the in-toto statement's subjects do not include ${digest}`
}

/** The in-toto statement's `predicateType`, or '' when the payload has none (such a statement matches no policy). */
export function predicateTypeOf(payload: Uint8Array): string {
  const value = parseObject(payload)?.['predicateType']
  return typeof value === 'string' ? value : ''
}

/**
 * The in-toto statement a DSSE candidate carries (a bundle's envelope or a legacy `.att` envelope), or null. Only
 * meaningful for a candidate whose verdict is verified: then these are the very bytes the signature covers.
 */
export function statementOf(candidate: Candidate): Record<string, unknown> | null {
  if (candidate.kind === 'simple-signing') return null
  const outer = parseObject(candidate.kind === 'bundle' ? candidate.bundle : candidate.envelope)
  const envelope = (candidate.kind === 'bundle' ? outer?.['dsseEnvelope'] : outer) as {payload?: unknown} | undefined
  return typeof envelope?.payload === 'string' ? parseObject(Buffer.from(envelope.payload, 'base64')) : null
}

function parseObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(asBuffer(bytes).toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** Untrusted values in reasons: JSON-quoted (control characters visible) and cut short. */
export const quote = (value: unknown): string => quoted(value, 120)

export const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
