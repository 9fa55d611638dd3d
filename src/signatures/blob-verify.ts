/**
 * Verifying a file (a blob) against its sigstore bundle, as `cosign verify-blob --bundle` and
 * `cosign verify-blob-attestation` do: a message signature over the file's bytes (sign-blob), or a DSSE
 * envelope whose in-toto statement names the file's digest as a subject (attest-blob, GitHub artifact
 * attestations, SLSA provenance).
 *
 * The file is known by its digest only (hashed as a stream, or given as `sha256:<hex>`), so message signatures
 * are checked from the digest (prehashed.ts). Verification is offline: an explicit trusted root (no TUF refresh) for keyless signers, and for the log
 * entries and timestamps a keyed bundle carries (the key alone is what makes a keyed bundle trusted).
 */
import {timingSafeEqual, type KeyObject} from 'node:crypto'
import {bundleFromJSON, type Bundle} from '@sigstore/bundle'
import {HashAlgorithm, type TrustedRoot} from '@sigstore/protobuf-specs'
import {PolicyError, Verifier, toSignedEntity, toTrustMaterial, type SignedEntity} from '@sigstore/verify'
import {hashUserFile} from '../files/read.ts'
import {inTotoProblem, quote} from './binding.ts'
import {type HashName, prehashProblem, verifyPrehashed} from './prehashed.ts'
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

/** The file to verify: a path (hashed as a stream, never held in memory), or its digest alone. */
export type BlobInput = {kind: 'file'; path: string; maxBytes: number} | ({kind: 'digest'} & ArtifactDigest)

/** The file as verification sees it. */
export interface ArtifactDigest {
  algorithm: HashName
  digest: Buffer
}

/**
 * Verifies `bundleBytes` (a sigstore bundle JSON) over the file; throws `BlobVerificationError` when it does not,
 * `FileReadError` when the file cannot be read. The file is hashed with the algorithm the bundle signed.
 */
export async function verifyBlobInput(input: BlobInput, bundleBytes: Uint8Array, trust: BlobTrust, required: BlobRequirements = {}): Promise<BlobVerification> {
  const bundle = parseBlobBundle(bundleBytes)
  const algorithm = signedAlgorithm(bundle)
  const artifact =
    input.kind === 'digest' ? input : {algorithm, digest: await hashUserFile(input.path, algorithm, {what: 'file to verify', maxBytes: input.maxBytes})}
  return verifyBlob(artifact, bundle, trust, required)
}

/** Verifies `bundle` over the file `artifact`; throws `BlobVerificationError` when it does not. */
export function verifyBlob(artifact: ArtifactDigest, bundle: Bundle, trust: BlobTrust, required: BlobRequirements = {}): BlobVerification {
  if (bundle.content.$case === 'dsseEnvelope') {
    const {payloadType, payload} = bundle.content.dsseEnvelope
    const signer = verifyEntity(bundle, toSignedEntity(bundle), trust)
    // Only after the signature holds is the statement worth reading: before, it is anyone's text.
    const unbound = inTotoProblem(payloadType, payload, `${artifact.algorithm}:${artifact.digest.toString('hex')}`)
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
  const algorithm = signedAlgorithm(bundle)
  if (artifact.algorithm !== algorithm) throw new BlobVerificationError(`the bundle signs the file's ${algorithm} digest, not a ${artifact.algorithm} one`)
  const {signature, messageDigest} = bundle.content.messageSignature
  if (messageDigest !== undefined && messageDigest.digest.length > 0 && !same(messageDigest.digest, artifact.digest)) {
    throw new BlobVerificationError(
      `the bundle is for another file: it signs ${algorithm}:${messageDigest.digest.toString('hex')}, the file is ${algorithm}:${artifact.digest.toString('hex')} (changed since it was signed?)`,
    )
  }
  // sigstore-js would hash the file's bytes itself; here the digest stands for them, and also for what a
  // hashedrekord log entry records.
  const entity: SignedEntity = {
    ...toSignedEntity(bundle),
    signature: {
      signature,
      compareSignature: (other) => same(other, signature),
      compareDigest: (other) => same(other, artifact.digest),
      compareSignedDigest: (other) => same(other, artifact.digest),
      verifySignature: (key: KeyObject) => verifyPrehashed(key, algorithm, artifact.digest, signature),
    },
  }
  return {signer: verifyEntity(bundle, entity, trust), statement: null}
}

const HASHES: Partial<Record<HashAlgorithm, HashName>> = {
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: 'sha256',
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
}

/** The digest a bundle's signature covers: a message signature's algorithm; in-toto subjects are matched by sha256. */
function signedAlgorithm(bundle: Bundle): HashName {
  if (bundle.content.$case === 'dsseEnvelope') return 'sha256'
  const algorithm = bundle.content.messageSignature.messageDigest?.algorithm ?? HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED
  const name = HASHES[algorithm]
  if (name === undefined)
    throw new BlobVerificationError(
      `the bundle's message digest uses ${HashAlgorithm[algorithm] ?? algorithm}, which is not supported (SHA-256, SHA-384 or SHA-512)`,
    )
  return name
}

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)

function verifyEntity(bundle: Bundle, entity: SignedEntity, trust: BlobTrust): Signer {
  try {
    if (trust.kind === 'key') {
      const publicKey = parsePublicKey(trust.pem, 'the --key file')
      if (bundle.verificationMaterial.content.$case !== 'publicKey')
        throw new BlobVerificationError('the bundle was signed keyless (it holds a certificate), not with a key: verify it with --identity')
      const unsupported = bundle.content.$case === 'messageSignature' ? prehashProblem(publicKey) : null
      if (unsupported !== null) throw new BlobVerificationError(unsupported)
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

/** The bundle JSON as a sigstore bundle, or `BlobVerificationError`. */
export function parseBlobBundle(bytes: Uint8Array): Bundle {
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
