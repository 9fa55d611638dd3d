/**
 * Carries what discovery found next to an image (legacy `.sig/.att/.sbom` tags, referrers) to the target, after
 * the image itself was copied (the caller's job: digests must already exist there, notes §7.4).
 *
 *   - Legacy tags are copied byte for byte (blobs, then the manifest under the same tag, create-only with
 *     If-None-Match), so their digest is kept. When the target tag already holds other signatures, both sides
 *     are kept: the layers are merged (target first, deduplicated by blob digest + signature annotation) and the
 *     tag is rewritten with If-Match.
 *   - Referrers are PUT by digest (their subject is unchanged because the image digest is; an index referrer's
 *     children go through the run's copier, each distinct one once), and recorded in the target's fallback
 *     index when the target does not index them itself. The source's fallback index is never copied: it may be
 *     stale (entries whose manifest is gone) or unneeded (the target has the API).
 *
 * Everything first looks at what the target holds, so a second run of the same copy writes nothing.
 * Referrers are handled one after the other: they share one fallback index, and registries that ignore
 * If-Match (distribution 2.8 does) would lose concurrent read-modify-writes.
 */
import type {Descriptor} from '../oci/manifest.ts'
import {parseManifest} from '../oci/manifest.ts'
import {type Digest, isDigest, sha256Digest} from '../ref/digest.ts'
import type {FetchedManifest, RegistryClient, Repository} from '../registry/client.ts'
import {putReferrer, recordReferrer, subjectDigestOf} from '../registry/referrers.ts'
import {type Artifact, DSSE_MEDIA_TYPE, legacyTag} from './discover.ts'
import {imageOf, layerKey, LegacySignatureError, pushBytes, writeSignatureImage} from './legacy-image.ts'

/**
 * What copying needs of apply's content copier (`BlobCopier`, src/apply): blobs and whole manifest trees placed
 * once per run per target repository and digest, shared with the image copy, and manifest PUTs that survive
 * another writer storing the same content at the same moment. Declared here because signatures must not import
 * apply (same layer rank, see test/architecture.test.ts).
 */
export interface ContentPlacer {
  ensure(need: {source: Repository; target: Repository; digest: Digest; size: number; onBytes: (n: number) => void}): Promise<unknown>
  ensureManifest(need: WalkNeed & {digest: Digest}): Promise<void>
  putManifest(need: WalkNeed, reference: string, manifest: FetchedManifest, condition: 'always' | 'if-absent'): Promise<'stored' | 'taken'>
}

/** Where a manifest walk reads and writes; signature artifacts pass no-op counters (not an entry's bytes). */
interface WalkNeed {
  source: Repository
  target: Repository
  onBlob: (outcome: string, size: number) => void
  onBytes: (n: number) => void
}

export interface CopyReport {
  /** Legacy tags written byte for byte (the target had no such tag). */
  legacyTags: number
  /** Referrer manifests PUT at the target. */
  referrers: number
  /** Legacy tags whose target held other signatures and now holds the union. */
  merged: number
  /** Descriptors added to the target's fallback index (`sha256-<hex>`). */
  fallbackEntries: number
}

/** Attempts of one merge when other writers keep changing the tag under us (412). */
const MERGE_ATTEMPTS = 5

export async function copyArtifacts(
  client: RegistryClient,
  blobs: ContentPlacer,
  from: Repository,
  to: Repository,
  subjectDigest: Digest,
  artifacts: readonly Artifact[],
  signal?: AbortSignal,
): Promise<CopyReport> {
  const report: CopyReport = {legacyTags: 0, referrers: 0, merged: 0, fallbackEntries: 0}
  const ctx: CopyContext = {client, blobs, from, to, signal}
  // Order of notes §7.4: legacy tags, then referrers.
  for (const artifact of artifacts) {
    if (artifact.kind !== 'legacy-tag') continue
    const outcome = await copyLegacyTag(ctx, artifact.tag, artifact.manifest)
    if (outcome === 'copied') report.legacyTags++
    if (outcome === 'merged') report.merged++
  }
  for (const artifact of artifacts) {
    if (artifact.kind !== 'referrer') continue
    const subject = subjectDigestOf(artifact.manifest)
    if (subject !== subjectDigest) throw new Error(`referrer ${artifact.manifest.digest} is about ${subject}, not ${subjectDigest}`)
    const outcome = await copyReferrer(ctx, subject, artifact.manifest)
    if (outcome.put) report.referrers++
    if (outcome.fallback === 'added') report.fallbackEntries++
  }
  return report
}

interface CopyContext {
  client: RegistryClient
  blobs: ContentPlacer
  from: Repository
  to: Repository
  signal?: AbortSignal | undefined
}

/**
 * One legacy tag. Absent at the target → byte-for-byte copy, create-only. Same digest → nothing. Other content
 * (or another writer created the tag first) → merge, and nothing when the target already has every source layer
 * (e.g. a previous merge).
 */
async function copyLegacyTag(ctx: CopyContext, tag: string, manifest: FetchedManifest): Promise<'copied' | 'merged' | 'unchanged'> {
  const {client, to, signal} = ctx
  const head = await client.headManifest(to, tag, signal)
  if (head?.digest === manifest.digest) return 'unchanged'
  if (head === null && (await createTag(ctx, tag, manifest))) return 'copied'
  const source = imageOf({...manifest, etag: null}, ctx.from, tag)
  for (let attempt = 1; attempt <= MERGE_ATTEMPTS; attempt++) {
    const current = await client.getManifestIfPresent(to, tag, signal ? {signal} : {})
    if (current === null) {
      // Deleted since the HEAD: the plain copy is the union, unless someone creates the tag first (then merge).
      if (await createTag(ctx, tag, manifest)) return 'copied'
      continue
    }
    const have = imageOf(current, to, tag).layers
    const keys = new Set(have.map(layerKey))
    const missing = source.layers.filter((layer) => !keys.has(layerKey(layer)))
    if (missing.length === 0) return 'unchanged'
    await Promise.all(missing.map((layer) => ensureBlob(ctx, layer)))
    if (await writeSignatureImage(client, to, tag, current, [...have, ...dedupe(missing)], signal)) return 'merged'
  }
  throw new LegacySignatureError('CONTENDED', `${to.registry}/${to.repository}:${tag} kept changing while we merged signatures into it`)
}

/**
 * Writes a legacy tag that was absent, only if it still is (`If-None-Match: *`, where the registry honours it):
 * signatures another writer put there meanwhile are merged with, never replaced. False when it was taken.
 */
async function createTag(ctx: CopyContext, tag: string, manifest: FetchedManifest): Promise<boolean> {
  await copyBlobsOf(ctx, manifest)
  return (await ctx.blobs.putManifest(walkOf(ctx), tag, manifest, 'if-absent')) === 'stored'
}

/**
 * One referrer: blobs (and, for an index referrer, its child manifests), the manifest by digest, then the
 * fallback index if the target needs one. A referrer already at the target is not PUT again, but still checked
 * for a fallback entry (a previous run may have stopped between the two writes).
 */
async function copyReferrer(ctx: CopyContext, subject: Digest, manifest: FetchedManifest): Promise<{put: boolean; fallback: 'not-needed' | 'added' | 'present'}> {
  const {client, to, signal} = ctx
  const existing = await client.headManifest(to, manifest.digest, signal)
  if (existing !== null) {
    // Stored earlier: a registry with the API indexed it on that push, so only a registry without needs the index.
    return {put: false, fallback: await recordReferrer(client, to, subject, manifest, true, signal)}
  }
  if (manifest.parsed.kind === 'index') {
    // Children (e.g. a multi-platform SBOM) are placed by digest through the run's copier: each distinct one once.
    for (const digest of new Set(manifest.parsed.index.manifests.map(digestOf))) await ctx.blobs.ensureManifest({...walkOf(ctx), digest})
  } else {
    await copyBlobsOf(ctx, manifest)
  }
  const pushed = await putReferrer(client, to, manifest, signal)
  return {put: true, fallback: pushed.fallback}
}

async function copyBlobsOf(ctx: CopyContext, manifest: FetchedManifest): Promise<void> {
  if (manifest.parsed.kind !== 'image') return
  const {config, layers} = manifest.parsed.manifest
  await Promise.all([config, ...layers].map((blob) => ensureBlob(ctx, blob)))
}

function walkOf(ctx: CopyContext): WalkNeed {
  return {source: ctx.from, target: ctx.to, onBlob: () => {}, onBytes: () => {}}
}

function ensureBlob(ctx: CopyContext, blob: Descriptor): Promise<unknown> {
  return ctx.blobs.ensure({source: ctx.from, target: ctx.to, digest: digestOf(blob), size: blob.size, onBytes: () => {}})
}

/** Source layers that repeat among themselves are added once. */
function dedupe(layers: readonly Descriptor[]): Descriptor[] {
  return [...new Map(layers.map((layer) => [layerKey(layer), layer])).values()]
}

function digestOf(descriptor: Descriptor): Digest {
  if (!isDigest(descriptor.digest)) throw new Error(`descriptor has an invalid digest "${descriptor.digest}"`)
  return descriptor.digest
}

/**
 * For the signer: pushes a freshly made referrer (e.g. a sigstore bundle manifest) to `repo`: its blobs (the
 * `{}` config and the bundle layer) unless present, the manifest by digest, then the fallback index if the
 * registry does not index the subject itself. The manifest must carry `subject` and its `mediaType`.
 */
export async function pushReferrer(client: RegistryClient, repo: Repository, manifestBytes: Uint8Array, blobs: readonly Uint8Array[], signal?: AbortSignal): Promise<{digest: Digest; fallback: 'not-needed' | 'added' | 'present'}> {
  const mediaType = (JSON.parse(new TextDecoder().decode(manifestBytes)) as {mediaType?: unknown}).mediaType
  if (typeof mediaType !== 'string') throw new Error('a referrer manifest must declare its mediaType')
  const digest = sha256Digest(manifestBytes)
  const manifest: FetchedManifest = {digest, mediaType, size: manifestBytes.byteLength, bytes: manifestBytes, parsed: parseManifest(manifestBytes, mediaType)}
  subjectDigestOf(manifest)
  for (const blob of blobs) await pushBytes(client, repo, blob, signal)
  const pushed = await putReferrer(client, repo, manifest, signal)
  return {digest, fallback: pushed.fallback}
}

/** One signature for the legacy tag scheme: the blob (simple-signing payload or DSSE envelope) and its annotations. */
export interface LegacySignatureLayer {
  payload: Uint8Array
  annotations: Record<string, string>
  /** simple-signing → `sha256-<hex>.sig`; DSSE envelope → `sha256-<hex>.att`. */
  mediaType: string
}

/**
 * For the signer: appends a signature layer to `sha256-<hex>.sig` (or `.att`) in `repo`, creating the tag when
 * absent. Idempotent: a layer with the same payload digest and the same signature annotation already there
 * means nothing is written. Concurrent writers are handled with If-Match and a re-read.
 */
export async function appendLegacySignature(client: RegistryClient, repo: Repository, subjectDigest: Digest, layer: LegacySignatureLayer, signal?: AbortSignal): Promise<'appended' | 'already-present'> {
  const tag = legacyTag(subjectDigest, layer.mediaType === DSSE_MEDIA_TYPE ? 'att' : 'sig')
  const descriptor: Descriptor = {mediaType: layer.mediaType, size: layer.payload.byteLength, digest: sha256Digest(layer.payload), annotations: {...layer.annotations}}
  for (let attempt = 1; attempt <= MERGE_ATTEMPTS; attempt++) {
    const current = await client.getManifestIfPresent(repo, tag, signal ? {signal} : {})
    const have = current === null ? [] : imageOf(current, repo, tag).layers
    if (have.some((l) => layerKey(l) === layerKey(descriptor))) return 'already-present'
    await pushBytes(client, repo, layer.payload, signal)
    if (await writeSignatureImage(client, repo, tag, current, [...have, descriptor], signal)) return 'appended'
  }
  throw new LegacySignatureError('CONTENDED', `${repo.registry}/${repo.repository}:${tag} kept changing while we appended a signature`)
}
