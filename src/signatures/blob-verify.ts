/**
 * Verifying a file (a blob) against its sigstore bundle, as `cosign verify-blob --bundle` and
 * `cosign verify-blob-attestation` do: a message signature over the file's bytes (sign-blob), or a DSSE
 * envelope whose in-toto statement names the file's digest as a subject (attest-blob, GitHub artifact
 * attestations, SLSA provenance).
 *
 * Verification is offline: an explicit trusted root (no TUF refresh) for keyless signers, and for the log
 * entries and timestamps a keyed bundle carries (the key alone is what makes a keyed bundle trusted).
 */
import {createHash} from 'node:crypto'
import {bundleFromJSON, type Bundle} from '@sigstore/bundle'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {PolicyError, Verifier, toSignedEntity, toTrustMaterial, type SignedEntity} from '@sigstore/verify'
import {inTotoProblem, quote} from './binding.ts'
import {SignatureError, fingerprintOfKey, parsePublicKey} from './trust.ts'
import type {Identity, Signer} from './types.ts'
import {identityPolicy} from './verify.ts'

/**
 * Who a blob's signature must come from: a public key, or a keyless identity certified under a trusted root. A
 * keyed bundle may carry log entries and timestamps (cosign sign-blob --key logs to Rekor): they are checked
 * against `trustedRoot` like cosign and sigstore-python do, so a forged witness fails rather than being ignored.
 */
export type BlobTrust = {kind: 'key'; pem: string; trustedRoot: TrustedRoot} | {kind: 'identity'; identity: Identity; trustedRoot: TrustedRoot}

export interface BlobRequirements {
  /** The in-toto predicate type the bundle must attest; set, a plain signature (sign-blob) does not satisfy it. */
  predicateType?: string
}

/** A verified blob: who signed it, and for a DSSE bundle the in-toto statement it attests (verified JSON). */
export interface BlobVerification {
  signer: Signer
  statement: Record<string, unknown> | null
}

/** Verifies `bundleBytes` (a sigstore bundle JSON) over `data`; throws `BlobVerificationError` when it does not. */
export function verifyBlob(data: Uint8Array, bundleBytes: Uint8Array, trust: BlobTrust, required: BlobRequirements = {}): BlobVerification {
  const bundle = parseBundle(bundleBytes)
  if (bundle.content.$case === 'dsseEnvelope') {
    const {payloadType, payload} = bundle.content.dsseEnvelope
    const signer = verifyEntity(bundle, toSignedEntity(bundle), trust)
    // Only after the signature holds is the statement worth reading: before, it is anyone's text.
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
    const unbound = inTotoProblem(payloadType, payload, digest)
    if (unbound !== null) throw new BlobVerificationError(`the attestation is not about this file: ${unbound}`)
    const statement = JSON.parse(payload.toString('utf8')) as Record<string, unknown>
    const predicateType = statement['predicateType']
    if (required.predicateType !== undefined && predicateType !== required.predicateType) {
      throw new BlobVerificationError(`the attestation's predicate type is ${quote(predicateType)}, not ${quote(required.predicateType)}`)
    }
    return {signer, statement}
  }
  if (required.predicateType !== undefined) {
    throw new BlobVerificationError(`the bundle is a plain signature over the file (sign-blob), not an attestation of ${quote(required.predicateType)}`)
  }
  return {signer: verifyEntity(bundle, toSignedEntity(bundle, Buffer.from(data)), trust), statement: null}
}

function verifyEntity(bundle: Bundle, entity: SignedEntity, trust: BlobTrust): Signer {
  try {
    if (trust.kind === 'key') {
      const publicKey = parsePublicKey(trust.pem, 'the --key file')
      if (bundle.verificationMaterial.content.$case !== 'publicKey') throw new BlobVerificationError('the bundle was signed keyless (it holds a certificate), not with a key: verify it with --identity')
      // The key is the trust; witnesses are optional (our release bundles carry none) but verified when present.
      const material = toTrustMaterial(trust.trustedRoot, () => ({publicKey, validFor: () => true}))
      new Verifier(material, {tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0}).verify(entity)
      return {kind: 'key', fingerprint: fingerprintOfKey(publicKey)}
    }
    const signer = new Verifier(toTrustMaterial(trust.trustedRoot)).verify(entity, identityPolicy(trust.identity))
    return {kind: 'identity', subject: signer.identity?.subjectAlternativeName ?? '', issuer: signer.identity?.extensions?.issuer ?? ''}
  } catch (error) {
    if (error instanceof SignatureError) throw error
    const code = (error as {code?: unknown}).code
    const why = error instanceof PolicyError ? 'the signer is not the expected identity' : 'the signature does not verify'
    throw new BlobVerificationError(`${why}: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, {cause: error})
  }
}

function parseBundle(bytes: Uint8Array): Bundle {
  try {
    return bundleFromJSON(JSON.parse(new TextDecoder().decode(bytes)))
  } catch (error) {
    throw new BlobVerificationError(`the bundle is not a sigstore bundle (${(error as Error).message})`, {cause: error})
  }
}

/** The file does not carry a valid signature from whom it should: exit 1, one sentence. */
export class BlobVerificationError extends SignatureError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('BLOB_UNVERIFIED', message, options)
  }
}
