/**
 * Signing a file (a blob), as `cosign sign-blob --bundle` does: a sigstore bundle with a message signature over
 * the file's bytes. The release's SHA256SUMS is signed this way, so a downloader checks it with
 * `image-syncer verify-blob` (blob-verify.ts) or cosign and nothing else.
 */
import * as sigstore from 'sigstore'
import {bundleToJSON} from '@sigstore/bundle'
import {MessageSignatureBundleBuilder} from '@sigstore/sign'
import {keySigner, loadSigningKey, type SigningKey} from './keys.ts'
import {type KeylessOptions, keylessCall, keylessToken, signOptions} from './sign.ts'
import {PUBLIC_GOOD} from './sign-target.ts'

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
