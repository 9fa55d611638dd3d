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
import {type CopyEngine, NO_TALLY, type Route} from '../copy/engine.ts'
import type {FetchedManifest, ReferrerRecord, RepositoryHandle} from '../registry/handle.ts'
import {putReferrer, subjectDigestOf} from '../registry/referrer-manifests.ts'
import {type Artifact, DSSE_MEDIA_TYPE, legacyTag} from './discover.ts'
import {imageOf, layerKey, LegacySignatureError, pushBytes, writeSignatureImage} from './legacy-image.ts'

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

/** Signature artifacts are copied by the run's engine (blobs shared with the images), counted for no entry. */
export async function copyArtifacts(
  engine: CopyEngine,
  from: RepositoryHandle,
  to: RepositoryHandle,
  subjectDigest: Digest,
  artifacts: readonly Artifact[],
  signal?: AbortSignal,
): Promise<CopyReport> {
  const report: CopyReport = {legacyTags: 0, referrers: 0, merged: 0, fallbackEntries: 0}
  const ctx: CopyContext = {engine, route: {source: from, target: to, tally: NO_TALLY}, signal}
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
    const outcome = await copyReferrer(ctx, artifact.manifest)
    if (outcome.put) report.referrers++
    if (outcome.referrer === 'added') report.fallbackEntries++
  }
  return report
}

interface CopyContext {
  engine: CopyEngine
  route: Route
  signal?: AbortSignal | undefined
}

/**
 * One legacy tag. Absent at the target → byte-for-byte copy, create-only. Same digest → nothing. Other content
 * (or another writer created the tag first) → merge, and nothing when the target already has every source layer
 * (e.g. a previous merge).
 */
async function copyLegacyTag(ctx: CopyContext, tag: string, manifest: FetchedManifest): Promise<'copied' | 'merged' | 'unchanged'> {
  const {signal} = ctx
  const {source: from, target: to} = ctx.route
  const head = await to.headManifest(tag, {signal})
  if (head?.digest === manifest.digest) return 'unchanged'
  if (head === null && (await createTag(ctx, tag, manifest))) return 'copied'
  const source = imageOf({...manifest, etag: null}, from, tag)
  for (let attempt = 1; attempt <= MERGE_ATTEMPTS; attempt++) {
    const current = await to.getManifestIfPresent(tag, signal ? {signal} : {})
    if (current === null) {
      // Deleted since the HEAD: the plain copy is the union, unless someone creates the tag first (then merge).
      if (await createTag(ctx, tag, manifest)) return 'copied'
      continue
    }
    const have = imageOf(current, to, tag).layers
    const keys = new Set(have.map(layerKey))
    const missing = source.layers.filter((layer) => !keys.has(layerKey(layer)))
    if (missing.length === 0) return 'unchanged'
    await Promise.all(missing.map((layer) => ctx.engine.ensureBlob(ctx.route, {digest: digestOf(layer), size: layer.size})))
    if (await writeSignatureImage(to, tag, current, [...have, ...dedupe(missing)], signal)) return 'merged'
  }
  throw new LegacySignatureError('CONTENDED', `${to.name}:${tag} kept changing while we merged signatures into it`)
}

/**
 * Writes a legacy tag that was absent, only if it still is (`If-None-Match: *`, where the registry honours it):
 * signatures another writer put there meanwhile are merged with, never replaced. False when it was taken.
 */
async function createTag(ctx: CopyContext, tag: string, manifest: FetchedManifest): Promise<boolean> {
  await ctx.engine.ensureBlobsOf(ctx.route, manifest)
  return (await ctx.engine.putManifest(ctx.route, tag, manifest, 'if-absent')) === 'stored'
}

/**
 * One referrer: blobs (and, for an index referrer, its child manifests), then the manifest by digest, whose put
 * records it in the target's fallback index if the target needs one. The PUT is the run's one placement of that
 * digest (the engine's), so an index that lists the referrer (its source fallback index mirrored as a tag, say)
 * waits for it and never PUTs it a second time. A referrer already at the target (or placed by another need,
 * whose put recorded it too) is PUT again only when the target does not list it: a previous run may have stopped
 * between the PUT and the fallback write, and a PUT of the same bytes changes nothing but records it.
 */
async function copyReferrer(ctx: CopyContext, manifest: FetchedManifest): Promise<{put: boolean; referrer: ReferrerRecord}> {
  const {signal, route} = ctx
  const put = await ctx.engine.ensureManifestWith(route, manifest, () => putReferrer(route.target, manifest, signal))
  if (put !== null) return {put: true, referrer: put}
  const listed = await route.target.listReferrers(subjectDigestOf(manifest), {signal})
  if (listed.descriptors.some((d) => d.digest === manifest.digest)) return {put: false, referrer: listed.api === 'supported' ? 'indexed' : 'present'}
  return {put: false, referrer: await putReferrer(route.target, manifest, signal)}
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
 * `{}` config and the bundle layer) unless present, then the manifest by digest, whose put adds it to the fallback
 * index if the registry does not index the subject itself. The manifest must carry `subject` and its `mediaType`.
 */
export async function pushReferrer(
  repo: RepositoryHandle,
  manifestBytes: Uint8Array,
  blobs: readonly Uint8Array[],
  signal?: AbortSignal,
): Promise<{digest: Digest; referrer: ReferrerRecord}> {
  const mediaType = (JSON.parse(new TextDecoder().decode(manifestBytes)) as {mediaType?: unknown}).mediaType
  if (typeof mediaType !== 'string') throw new Error('a referrer manifest must declare its mediaType')
  const digest = sha256Digest(manifestBytes)
  const manifest: FetchedManifest = {digest, mediaType, size: manifestBytes.byteLength, bytes: manifestBytes, parsed: parseManifest(manifestBytes, mediaType)}
  subjectDigestOf(manifest)
  for (const blob of blobs) await pushBytes(repo, blob, signal)
  return {digest, referrer: await putReferrer(repo, manifest, signal)}
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
export async function appendLegacySignature(
  repo: RepositoryHandle,
  subjectDigest: Digest,
  layer: LegacySignatureLayer,
  signal?: AbortSignal,
): Promise<'appended' | 'already-present'> {
  const tag = legacyTag(subjectDigest, layer.mediaType === DSSE_MEDIA_TYPE ? 'att' : 'sig')
  const descriptor: Descriptor = {
    mediaType: layer.mediaType,
    size: layer.payload.byteLength,
    digest: sha256Digest(layer.payload),
    annotations: {...layer.annotations},
  }
  for (let attempt = 1; attempt <= MERGE_ATTEMPTS; attempt++) {
    const current = await repo.getManifestIfPresent(tag, signal ? {signal} : {})
    const have = current === null ? [] : imageOf(current, repo, tag).layers
    if (have.some((l) => layerKey(l) === layerKey(descriptor))) return 'already-present'
    await pushBytes(repo, layer.payload, signal)
    if (await writeSignatureImage(repo, tag, current, [...have, descriptor], signal)) return 'appended'
  }
  throw new LegacySignatureError('CONTENDED', `${repo.name}:${tag} kept changing while we appended a signature`)
}
