/**
 * cosign's legacy signature image (`sha256-<hex>.sig` / `.att`): one manifest per subject digest, one layer per
 * signature, on go-containerregistry's `empty.Image`. Appending a signature (signing, or merging two `.sig`
 * tags during a copy) rewrites the manifest and its config, the way cosign's `mutate.AppendSignatures` does:
 *
 *   - layers are uncompressed, so each layer's diff_id is its digest; the config lists them in
 *     `rootfs.diff_ids` and has one `history` entry per layer (`{"created":"0001-01-01T00:00:00Z"}`, ggcr's
 *     zero time), which is the 233-byte config of notes §1A for one layer;
 *   - when the existing config is JSON we keep it and replace only `rootfs` and `history`, so every other field
 *     (and, since JSON.stringify keeps key order, cosign's exact bytes) survives;
 *   - the manifest keeps its own fields (mediaType, annotations) and gets the new config and layer list.
 * Signatures stay valid because each layer's blob and annotations are carried unchanged; only the manifest and
 * config digests change.
 */
import {SyncerError} from '../ref/errors.ts'
import type {Descriptor, Manifest} from '../oci/manifest.ts'
import {MediaType} from '../oci/media-types.ts'
import {type Digest, sha256Digest} from '../ref/digest.ts'
import type {EtaggedManifest} from '../registry/handle.ts'
import {ContentError} from '../registry/errors.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {LayoutError} from '../registry/layout-errors.ts'
import {RegistryError} from '../transport/errors.ts'
import {SIGNATURE_ANNOTATION} from './discover.ts'

/** cosign refuses to read signature manifests with more layers (`maxLayers` in pkg/oci/remote/signatures.go). */
const MAX_SIGNATURE_LAYERS = 1000

/** ggcr's zero `v1.Time`, as Go marshals it. */
const ZERO_TIME = '0001-01-01T00:00:00Z'

/** A small config is all we ever read from a signature image. */
const MAX_CONFIG_BYTES = 1024 * 1024

export class LegacySignatureError extends SyncerError {
  override readonly name = 'LegacySignatureError'
  readonly category = 'signature' as const
  constructor(
    readonly code: 'NOT_AN_IMAGE' | 'TOO_MANY_LAYERS' | 'CONTENDED',
    message: string,
  ) {
    super(message)
  }
}

/**
 * What makes two signature layers "the same" for merging and for the signer's idempotence: the blob (payload
 * or envelope) and the signature annotation, as the notes' §7.4 dedupe rule says. Two signatures of one payload
 * by different keys differ in the annotation and are both kept.
 */
export function layerKey(layer: Descriptor): string {
  return `${layer.digest}\u0000${layer.annotations?.[SIGNATURE_ANNOTATION] ?? ''}`
}

/** The config cosign's empty image gets after appending `layers` (exact bytes, key order included). */
function emptyImageConfig(layers: readonly Descriptor[]): Uint8Array {
  return json({
    architecture: '',
    created: ZERO_TIME,
    history: layers.map(() => ({created: ZERO_TIME})),
    os: '',
    rootfs: {type: 'layers', diff_ids: layers.map((l) => l.digest)},
    config: {},
  })
}

/**
 * A config for `layers`, based on `existing` (the config bytes of the manifest whose first `kept` layers are
 * carried over). History entries of the kept layers survive when they line up one-to-one with them.
 */
function rebuildConfig(existing: Uint8Array | null, kept: number, layers: readonly Descriptor[]): Uint8Array {
  let base: unknown = null
  try {
    base = existing === null ? null : JSON.parse(new TextDecoder().decode(existing))
  } catch {
    base = null
  }
  if (base === null || typeof base !== 'object' || Array.isArray(base)) return emptyImageConfig(layers)
  const object = base as Record<string, unknown>
  const oldHistory = Array.isArray(object.history) && object.history.length === kept ? object.history : null
  const history = oldHistory ? [...oldHistory, ...layers.slice(kept).map(() => ({created: ZERO_TIME}))] : layers.map(() => ({created: ZERO_TIME}))
  return json({...object, history, rootfs: {type: 'layers', diff_ids: layers.map((l) => l.digest)}})
}

/** A signature manifest: `base`'s own fields with `config` and `layers` replaced, or a fresh OCI one. */
function signatureManifest(base: Manifest | null, config: Descriptor, layers: readonly Descriptor[]): {bytes: Uint8Array; mediaType: string; digest: Digest} {
  const body = base ? {...base, config, layers} : {schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers}
  const bytes = json(body)
  return {bytes, mediaType: base?.mediaType ?? MediaType.OciManifest, digest: sha256Digest(bytes)}
}

/**
 * Writes the signature image `layers` under `tag`, replacing `current` (null: the tag is new) only if it is
 * still what we read: the config is rebuilt from `current`'s, uploaded, and the manifest PUT with If-Match.
 * Returns false when the tag changed meanwhile (412), so the caller re-reads and merges again.
 * Every layer blob must already be in `repo`.
 */
export async function writeSignatureImage(
  repo: RepositoryHandle,
  tag: string,
  current: EtaggedManifest | null,
  layers: readonly Descriptor[],
  signal?: AbortSignal,
): Promise<boolean> {
  if (layers.length > MAX_SIGNATURE_LAYERS) {
    throw new LegacySignatureError(
      'TOO_MANY_LAYERS',
      `${repo.name}:${tag} would have ${layers.length} signatures; cosign reads at most ${MAX_SIGNATURE_LAYERS}`,
    )
  }
  const base = current === null ? null : imageOf(current, repo, tag)
  const kept = base?.layers.length ?? 0
  const oldConfig = base ? await readConfig(repo, base.config.digest as Digest, signal) : null
  const configBytes = base ? rebuildConfig(oldConfig, kept, layers) : emptyImageConfig(layers)
  const configMediaType = base?.config.mediaType ?? MediaType.OciConfig
  const configDigest = await pushBytes(repo, configBytes, signal)
  const manifest = signatureManifest(base, {mediaType: configMediaType, size: configBytes.byteLength, digest: configDigest}, layers)
  const outcome = await repo.putManifest(tag, manifest, {ifMatch: current?.etag ?? null, ...(signal ? {signal} : {})})
  return outcome.kind === 'stored'
}

/** The current config, or null when it is missing or not what it claims (then cosign's shape is used). */
async function readConfig(repo: RepositoryHandle, digest: Digest, signal?: AbortSignal): Promise<Uint8Array | null> {
  try {
    return await repo.getSmallBlob(digest, MAX_CONFIG_BYTES, {signal})
  } catch (err) {
    if (err instanceof RegistryError || err instanceof ContentError || err instanceof LayoutError) return null
    throw err
  }
}

/** The image manifest of a signature tag; an index (or anything else) there is not cosign's and is left alone. */
export function imageOf(current: EtaggedManifest, repo: RepositoryHandle, tag: string): Manifest {
  if (current.parsed.kind !== 'image') {
    throw new LegacySignatureError('NOT_AN_IMAGE', `${repo.name}:${tag} holds a ${current.mediaType}, not a signature image: refusing to rewrite it`)
  }
  return current.parsed.manifest
}

/** Uploads bytes we made ourselves (a config, a payload) unless `repo` has them; returns their digest. */
export async function pushBytes(repo: RepositoryHandle, bytes: Uint8Array, signal?: AbortSignal): Promise<Digest> {
  const digest = sha256Digest(bytes)
  if ((await repo.headBlob(digest, {signal})) !== null) return digest
  await repo.putBlob({digest, size: bytes.byteLength, open: async () => new Response(bytes).body!}, signal ? {signal} : {})
  return digest
}

/** Compact JSON, as Go's encoder writes it (cosign, ggcr), minus Go's HTML escaping of `<>&`, which no reader needs. */
function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}
