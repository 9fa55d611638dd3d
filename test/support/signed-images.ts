/**
 * Signing test images the way cosign stores signatures, written independently of the product's signing code
 * so that tests of verification and copying do not depend on it: legacy `sha256-<hex>.sig` images with
 * simple-signing layers, signed with a key made in the test (`makeKeyPair`).
 */
import {sign} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {pushBlob, putManifest} from './images.ts'
import type {TestKeyPair} from './sigstore/test-keys.ts'

export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'

/** cosign's simple-signing payload for `digest`. */
export function simpleSigning(reference: string, digest: string): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      critical: {identity: {'docker-reference': reference}, image: {'docker-manifest-digest': digest}, type: 'cosign container image signature'},
      optional: null,
    }),
  )
}

export type Tamper = 'none' | 'payload' | 'signature' | 'binding'

/**
 * Pushes `repo:sha256-<hex>.sig` holding one signature of `digest` by `key`, optionally tampered: a byte of the
 * payload changed after signing, a byte of the signature flipped, or a valid signature of another digest.
 */
export async function pushLegacySignature(registryUrl: string, repo: string, digest: string, key: TestKeyPair, tamper: Tamper = 'none'): Promise<string> {
  const signedFor = tamper === 'binding' ? `sha256:${'0'.repeat(64)}` : digest
  let payload = simpleSigning(repo, signedFor)
  const signature = sign('sha256', payload, key.privateKey)
  if (tamper === 'signature') signature[signature.length - 1]! ^= 0x01
  if (tamper === 'payload')
    payload = new TextEncoder().encode(new TextDecoder().decode(payload).replace('cosign container image signature', 'cosign container image signaturE'))
  const layer = {bytes: payload, digest: sha256Digest(payload), mediaType: SIMPLE_SIGNING}
  const configBytes = new TextEncoder().encode(JSON.stringify({architecture: '', os: '', config: {}, rootfs: {type: 'layers', diff_ids: [layer.digest]}}))
  const config = {bytes: configBytes, digest: sha256Digest(configBytes), mediaType: MediaType.OciConfig}
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: {mediaType: config.mediaType, digest: config.digest, size: configBytes.byteLength},
      layers: [
        {
          mediaType: SIMPLE_SIGNING,
          digest: layer.digest,
          size: payload.byteLength,
          annotations: {'dev.cosignproject.cosign/signature': signature.toString('base64')},
        },
      ],
    }),
  )
  await pushBlob(registryUrl, repo, config)
  await pushBlob(registryUrl, repo, layer)
  const tag = `${digest.replace(':', '-')}.sig`
  await putManifest(registryUrl, repo, tag, manifest, MediaType.OciManifest)
  return tag
}

/** A definition file `dir/name` with a global `signatures:` block, mirroring `entries` into `<targetHost>/mirror/`. */
export async function writeSignedDefinition(dir: string, targetHost: string, name: string, signatures: string, entries: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, `targetRepoPrefix: "${targetHost}/mirror/"\nsignatures:\n${signatures}\nimages:\n${entries}\n`)
  return path
}
