/**
 * Signing and verifying a file (a blob), as `cosign sign-blob --bundle` / `cosign verify-blob --bundle` do: a
 * sigstore bundle with a message signature over the file's bytes. The release's SHA256SUMS is signed this way,
 * so a downloader checks it with `image-syncer verify-blob` (or cosign) and nothing else.
 *
 * Verification is offline: an explicit trusted root (no TUF refresh) for keyless signers, and for the log
 * entries and timestamps a keyed bundle carries (the key alone is what makes a keyed bundle trusted).
 */
import * as sigstore from 'sigstore'
import {bundleFromJSON, bundleToJSON, type Bundle} from '@sigstore/bundle'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {MessageSignatureBundleBuilder} from '@sigstore/sign'
import {PolicyError, Verifier, toSignedEntity, toTrustMaterial} from '@sigstore/verify'
import {keySigner, loadSigningKey, type SigningKey} from './keys.ts'
import {type KeylessOptions, keylessCall, keylessToken, signOptions} from './sign.ts'
import {PUBLIC_GOOD} from './sign-target.ts'
import {SignatureError, fingerprintOfKey, parsePublicKey} from './trust.ts'
import type {Identity, Signer} from './types.ts'
import {identityPolicy} from './verify.ts'

/**
 * Who a blob's signature must come from: a public key, or a keyless identity certified under a trusted root. A
 * keyed bundle may carry log entries and timestamps (cosign sign-blob --key logs to Rekor): they are checked
 * against `trustedRoot` like cosign and sigstore-python do, so a forged witness fails rather than being ignored.
 */
export type BlobTrust = {kind: 'key'; pem: string; trustedRoot: TrustedRoot} | {kind: 'identity'; identity: Identity; trustedRoot: TrustedRoot}

/** How to sign a blob: with a PEM key file, or keyless with an OIDC token (GitHub Actions' when in a workflow). */
export type BlobSigner = {kind: 'key'; keyPath: string} | {kind: 'keyless'}

/**
 * Signs `data` the way the environment says, as `sign:` in a definition does: SYNCER_SIGNING_KEY_PASSWORD for
 * an encrypted key; SYNCER_OIDC_TOKEN or the Actions id-token endpoint, SYNCER_FULCIO_URL and SYNCER_REKOR_URL
 * for keyless (default: the public-good instances).
 */
export async function signBlob(data: Uint8Array, signer: BlobSigner, env: Record<string, string | undefined>): Promise<Uint8Array> {
  if (signer.kind === 'key') return signBlobWithKey(await loadSigningKey(signer.keyPath, env.SYNCER_SIGNING_KEY_PASSWORD), data)
  const identityToken = await keylessToken(env)
  return signBlobKeyless({data, identityToken, fulcioURL: env.SYNCER_FULCIO_URL || PUBLIC_GOOD.fulcio, rekorURL: env.SYNCER_REKOR_URL || PUBLIC_GOOD.rekor})
}

/** A keyed bundle (JSON bytes) over `data`, with no witnesses (the key alone is what verifiers trust). */
export async function signBlobWithKey(key: SigningKey, data: Uint8Array): Promise<Uint8Array> {
  const bundle = await new MessageSignatureBundleBuilder({signer: keySigner(key), witnesses: []}).create({data: Buffer.from(data)})
  return new TextEncoder().encode(JSON.stringify(bundleToJSON(bundle)))
}

/** A keyless bundle (JSON bytes) over `data`: a Fulcio certificate and a Rekor `hashedrekord` entry. */
export async function signBlobKeyless(options: KeylessOptions & {data: Uint8Array}): Promise<Uint8Array> {
  const bundle = await keylessCall('sign', () => sigstore.sign(Buffer.from(options.data), signOptions(options)))
  return new TextEncoder().encode(JSON.stringify(bundle))
}

/** Verifies `bundleBytes` (a sigstore bundle JSON) over `data`; returns the signer or throws `BlobVerificationError`. */
export function verifyBlob(data: Uint8Array, bundleBytes: Uint8Array, trust: BlobTrust): Signer {
  const bundle = parseBundle(bundleBytes)
  if (bundle.content.$case !== 'messageSignature') {
    throw new BlobVerificationError('the bundle holds a DSSE envelope, not a signature over a file (was it made by sign-blob?)')
  }
  const entity = toSignedEntity(bundle, Buffer.from(data))
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
