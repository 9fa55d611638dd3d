/**
 * Cosign's legacy storage form (`sha256-<hex>.sig` / `.att` tags, and the "oci-1-1" referrer variant): one
 * layer per signature, the signing material in layer annotations. sigstore-js has no reader for it, so this
 * module maps the annotations onto an in-memory sigstore bundle that `@sigstore/verify` can check, and maps a
 * sigstore-js signing result back onto annotations when we write the legacy form.
 *
 * The mapping is ../shared/docs/sigstore-notes.md §2.5. A **v0.1** bundle is built because the `bundle`
 * annotation carries Rekor's signed entry timestamp (SET) but no inclusion proof; v0.1 is the bundle version
 * whose tlog entries are proven by a SET alone. Everything here is pure: bytes and strings in, bundle or strings out.
 */
import {createHash} from 'node:crypto'
import {BUNDLE_V01_MEDIA_TYPE, envelopeFromJSON, type Bundle, type TransparencyLogEntry} from '@sigstore/bundle'
import {pem} from '@sigstore/core'
import {HashAlgorithm} from '@sigstore/protobuf-specs'
import {SignatureError} from './trust.ts'

/**
 * Annotation keys, as cosign's code writes them (`pkg/oci/static`, `pkg/oci/internal/signature/layer.go`).
 * Only the signature key has the old `dev.cosignproject.cosign/` prefix; the spec's prose is wrong about the others.
 */
export const COSIGN_ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const

type VerificationMaterial = Bundle['verificationMaterial']

function invalid(reason: string, cause?: unknown): never {
  throw new SignatureError('LEGACY_FORMAT_INVALID', reason, {cause})
}

/**
 * A legacy `.sig` layer (simple-signing payload + annotations) as a messageSignature bundle. The payload is
 * the artifact the caller passes to `toSignedEntity`; its SHA-256 becomes the message digest the Rekor
 * `hashedrekord` body is compared with. Throws `LEGACY_FORMAT_INVALID` for malformed annotations.
 */
export function legacySignatureBundle(annotations: Record<string, string>, payload: Uint8Array): Bundle {
  const signature = annotations[COSIGN_ANNOTATIONS.signature]
  if (!signature) invalid(`the layer has no ${COSIGN_ANNOTATIONS.signature} annotation`)
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    // The RFC 3161 token of a `.sig` covers the raw signature bytes, which is what sigstore-js checks too.
    verificationMaterial: verificationMaterial(annotations, true),
    content: {
      $case: 'messageSignature',
      messageSignature: {
        messageDigest: {algorithm: HashAlgorithm.SHA2_256, digest: createHash('sha256').update(payload).digest()},
        signature: Buffer.from(signature, 'base64'),
      },
    },
  }
}

/**
 * A legacy `.att` layer (DSSE envelope JSON + annotations) as a DSSE bundle. The signature annotation is empty
 * on `.att` layers (the signature is inside the envelope). The RFC 3161 annotation is dropped: cosign
 * timestamps the envelope JSON there, not the signature sigstore-js checks tokens against (notes §1A, §2.5).
 */
export function legacyAttestationBundle(annotations: Record<string, string>, envelope: Uint8Array): Bundle {
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(envelope).toString('utf8'))
  } catch {
    invalid('the attestation layer is not JSON, so it is not a DSSE envelope')
  }
  if (typeof json !== 'object' || json === null || !Array.isArray((json as {signatures?: unknown}).signatures)) {
    invalid('the attestation layer is not a DSSE envelope (no signatures array)')
  }
  let dsseEnvelope: ReturnType<typeof envelopeFromJSON>
  try {
    dsseEnvelope = envelopeFromJSON(json)
  } catch (error) {
    invalid(`the attestation layer is not a valid DSSE envelope (${(error as Error).message})`, error)
  }
  if (dsseEnvelope.signatures.length === 0) invalid('the DSSE envelope has no signatures')
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: verificationMaterial(annotations, false),
    content: {$case: 'dsseEnvelope', dsseEnvelope},
  }
}

/**
 * Certificate → `x509CertificateChain` with the leaf only: sigstore-js takes only the leaf from a bundle and
 * wants intermediates in the trusted root, so the `chain` annotation is deliberately not used. No certificate
 * means a keyed signature: an empty key hint, because our key finders try each configured key regardless.
 */
function verificationMaterial(annotations: Record<string, string>, keepTimestamp: boolean): VerificationMaterial {
  const certificate = annotations[COSIGN_ANNOTATIONS.certificate]
  const rekorBundle = annotations[COSIGN_ANNOTATIONS.bundle]
  const timestamp = annotations[COSIGN_ANNOTATIONS.timestamp]
  return {
    content: certificate
      ? {$case: 'x509CertificateChain', x509CertificateChain: {certificates: [{rawBytes: certificateDer(certificate)}]}}
      : {$case: 'publicKey', publicKey: {hint: ''}},
    tlogEntries: rekorBundle ? [tlogEntryFromRekorBundle(rekorBundle)] : [],
    timestampVerificationData: {
      rfc3161Timestamps: keepTimestamp && timestamp ? [{signedTimestamp: rfc3161Token(timestamp)}] : [],
    },
  }
}

function certificateDer(text: string): Buffer {
  const begin = text.indexOf('-----BEGIN CERTIFICATE-----')
  const end = text.indexOf('-----END CERTIFICATE-----', begin)
  if (begin < 0 || end < 0) invalid(`the ${COSIGN_ANNOTATIONS.certificate} annotation is not a PEM certificate`)
  // The annotation may hold a chain by mistake; the leaf is the first block.
  return pem.toDER(text.slice(begin, end + '-----END CERTIFICATE-----'.length).replace(/\r/g, ''))
}

function rfc3161Token(text: string): Buffer {
  const parsed = parseJSON(text, COSIGN_ANNOTATIONS.timestamp) as {SignedRFC3161Timestamp?: unknown}
  if (typeof parsed?.SignedRFC3161Timestamp !== 'string') {
    invalid(`the ${COSIGN_ANNOTATIONS.timestamp} annotation has no SignedRFC3161Timestamp`)
  }
  return Buffer.from(parsed.SignedRFC3161Timestamp, 'base64')
}

/** The Go `RekorBundle` JSON cosign writes (`pkg/cosign/bundle/rekor.go`); `[]byte` fields are base64. */
interface RekorBundle {
  SignedEntryTimestamp: string
  Payload: {body: string; integratedTime: number; logIndex: number; logID: string}
}

/**
 * The `dev.sigstore.cosign/bundle` annotation as a tlog entry with an inclusion promise. `kindVersion` is read
 * from the body, as sigstore-js checks it against the body again.
 */
export function tlogEntryFromRekorBundle(text: string): TransparencyLogEntry {
  const what = COSIGN_ANNOTATIONS.bundle
  const parsed = parseJSON(text, what) as Partial<RekorBundle> | null
  const p = parsed?.Payload
  if (typeof parsed?.SignedEntryTimestamp !== 'string' || typeof p !== 'object' || p === null) {
    invalid(`the ${what} annotation is not a Rekor bundle (SignedEntryTimestamp and Payload are required)`)
  }
  if (typeof p.body !== 'string' || !Number.isSafeInteger(p.integratedTime) || !Number.isSafeInteger(p.logIndex)) {
    invalid(`the ${what} annotation has a malformed Payload (body, integratedTime, logIndex)`)
  }
  if (typeof p.logID !== 'string' || !/^[0-9a-f]{64}$/i.test(p.logID)) invalid(`the ${what} annotation has a malformed logID`)
  const body = Buffer.from(p.body, 'base64')
  const entry = parseJSON(body.toString('utf8'), `${what} body`) as {kind?: unknown; apiVersion?: unknown} | null
  if (typeof entry?.kind !== 'string' || typeof entry.apiVersion !== 'string') {
    invalid(`the ${what} annotation's body has no kind and apiVersion`)
  }
  return {
    logIndex: String(p.logIndex),
    logId: {keyId: Buffer.from(p.logID, 'hex')},
    kindVersion: {kind: entry.kind, version: entry.apiVersion},
    integratedTime: String(p.integratedTime),
    inclusionPromise: {signedEntryTimestamp: Buffer.from(parsed.SignedEntryTimestamp, 'base64')},
    inclusionProof: undefined,
    canonicalizedBody: body,
  }
}

/**
 * The inverse, for writing a legacy keyless `.sig`: cosign v3's `RekorBundleFromProtoTlogEntry`
 * (body = canonicalized body, logID = hex of the key id), in Go's field order. Null when the entry has no
 * SET, since the annotation cannot be verified without one.
 */
export function rekorBundleFromTlogEntry(entry: TransparencyLogEntry): string | null {
  if (!entry.inclusionPromise) return null
  const bundle: RekorBundle = {
    SignedEntryTimestamp: Buffer.from(entry.inclusionPromise.signedEntryTimestamp).toString('base64'),
    Payload: {
      body: Buffer.from(entry.canonicalizedBody).toString('base64'),
      integratedTime: Number(entry.integratedTime),
      logIndex: Number(entry.logIndex),
      logID: Buffer.from(entry.logId.keyId).toString('hex'),
    },
  }
  return JSON.stringify(bundle)
}

/** PEM of a DER certificate, 64-column base64 with a trailing newline, as Go's `pem.Encode` writes it. */
export function certificatePem(der: Uint8Array): string {
  return pem.fromDER(Buffer.from(der))
}

function parseJSON(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return invalid(`the ${what} annotation is not valid JSON`)
  }
}
