/**
 * Finding what is stored next to an image digest: cosign's legacy tags (`sha256-<hex>.sig/.att/.sbom`) and
 * OCI referrers (API or fallback tag), then turning the signature-bearing ones into verification candidates.
 *
 * Referrer descriptors are only hints: fallback indexes written by cosign before ggcr v0.22.1 lack annotations
 * (cosign#4641) and GHCR's carry an empty artifactType (kyverno#16754). So every referrer manifest is fetched,
 * its `subject` is checked, and its own artifactType, config and layers decide what it is.
 */
import type {Descriptor} from '../oci/manifest.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import {categoryOf} from '../ref/errors.ts'
import type {FetchedManifest} from '../registry/handle.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {subjectOf} from '../registry/referrer-manifests.ts'
import {mapLimit} from '../transport/limiter.ts'
import {SignatureError} from './trust.ts'
import type {Candidate} from './types.ts'

export type LegacySuffix = 'sig' | 'att' | 'sbom'

/** A signed (or attached) thing found for a digest, with its manifest already read and verified. */
export type Artifact =
  | {kind: 'legacy-tag'; tag: string; suffix: LegacySuffix; manifest: FetchedManifest}
  | {kind: 'referrer'; manifest: FetchedManifest; descriptor: Descriptor}

const LEGACY_SUFFIXES: readonly LegacySuffix[] = ['sig', 'att', 'sbom']

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json'
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json'
/** cosign `--registry-referrers-mode=oci-1-1` signatures (form C): simple-signing layers in a referrer. */
const COSIGN_SIG_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json'
/** cosign `attest --registry-referrers-mode=oci-1-1` (`WriteAttestationsReferrer`): `.att`-style DSSE layers in a referrer. */
const IN_TOTO_ARTIFACT_TYPE = 'application/vnd.in-toto+json'
/** Every sigstore bundle media type starts so (v0.1–v0.3 and `…bundle.v0.3+json`). */
const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle'
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'

/** Signature blobs are a few KiB (a bundle with a chain ~10 KiB); a bigger one is not worth buffering. */
const MAX_SIGNATURE_BLOB_BYTES = 4 * 1024 * 1024
/**
 * Everything read next to one digest (artifact manifests, signature layers), in total: real images carry a few
 * KiB of it, and without a total a `.sig` of 400 layers of 4 MiB is 1.6 GB in memory.
 */
export const MAX_SIGNATURE_BYTES_TOTAL = 64 * 1024 * 1024
/** Artifact manifests and signature layers read at once, so memory in flight stays a few blobs. */
const FETCH_CONCURRENCY = 4

/** `sha256:<hex>` + `sig` → `sha256-<hex>.sig`, cosign's tag scheme (`normalize` in pkg/oci/remote/remote.go). */
export function legacyTag(digest: Digest, suffix: LegacySuffix): string {
  return `${digest.replace(':', '-')}.${suffix}`
}

/**
 * Everything stored next to `digest` in `repo`: the legacy tags that exist (HEAD, then GET by the digest the
 * HEAD gave, so the bytes are verified), then every referrer whose manifest exists and names `digest` as its
 * subject. Stale fallback entries (manifest gone) and entries about other subjects are left out.
 */
export async function discoverArtifacts(repo: RepositoryHandle, digest: Digest, signal?: AbortSignal): Promise<Artifact[]> {
  const [legacy, referrers] = await Promise.all([legacyArtifacts(repo, digest, signal), referrerArtifacts(repo, digest, signal)])
  return [...legacy, ...referrers]
}

/**
 * cosign's `.sig/.att/.sbom` tags of `digest`. The repository's tag list (one per repository and client) says
 * which exist, so an unsigned digest costs no request; a registry that will not list falls back to a HEAD per tag.
 */
async function legacyArtifacts(repo: RepositoryHandle, digest: Digest, signal?: AbortSignal): Promise<Artifact[]> {
  const listing = await repo.listTags({signal})
  const suffixes = listing.kind === 'listed' ? LEGACY_SUFFIXES.filter((suffix) => listing.tags.has(legacyTag(digest, suffix))) : LEGACY_SUFFIXES
  const found = await Promise.all(
    suffixes.map(async (suffix): Promise<Artifact | null> => {
      const tag = legacyTag(digest, suffix)
      const head = await repo.headManifest(tag, {signal})
      if (head === null) return null
      const manifest = await getIfPresent(repo, head.digest, signal)
      // cosign writes image manifests under these tags; an index there is something else and not ours to read.
      if (manifest === null || manifest.parsed.kind !== 'image') return null
      return {kind: 'legacy-tag', tag, suffix, manifest}
    }),
  )
  return found.filter((a): a is Artifact => a !== null)
}

async function referrerArtifacts(repo: RepositoryHandle, digest: Digest, signal?: AbortSignal): Promise<Artifact[]> {
  const {descriptors} = await repo.listReferrers(digest, {signal})
  const unique = [...new Map(descriptors.filter((d) => isDigest(d.digest)).map((d) => [d.digest, d])).values()]
  const budget = new ByteBudget(repo, digest)
  const found = await mapLimit(unique, FETCH_CONCURRENCY, async (descriptor): Promise<Artifact | null> => {
    const manifest = await getIfPresent(repo, descriptor.digest as Digest, signal)
    if (manifest === null) return null
    budget.spend(manifest.size)
    return subjectOf(manifest) === digest ? {kind: 'referrer', manifest, descriptor} : null
  })
  return found.filter((a): a is Artifact => a !== null)
}

/** A manifest by digest, or null when the store no longer has it (a stale fallback entry). */
async function getIfPresent(repo: RepositoryHandle, digest: Digest, signal?: AbortSignal): Promise<FetchedManifest | null> {
  try {
    return await repo.getManifest(digest, {signal})
  } catch (err) {
    if (categoryOf(err) === 'not-found') return null
    throw err
  }
}

/**
 * The verification candidates among `artifacts`, with their blobs read from `repo`:
 *   - `.sig` layers of the simple-signing type → simple-signing (payload = the layer blob, annotations = the layer's);
 *   - `.att` layers of the DSSE type → dsse-envelope;
 *   - a referrer with exactly one layer of a sigstore bundle type → bundle (cosign reads only those, too);
 *   - a cosign oci-1-1 referrer → simple-signing per simple-signing layer;
 *   - a cosign oci-1-1 attestation referrer → dsse-envelope per DSSE layer.
 * SBOMs and other referrers give nothing: they are copied, never verified. Whether a candidate is a signature or
 * an attestation is decided by verification, from the signed statement (see `Claim`), not here.
 */
export function candidatesOf(repo: RepositoryHandle, artifacts: readonly Artifact[], signal?: AbortSignal): Promise<Candidate[]> {
  return eachCandidate(repo, artifacts, (candidate) => candidate, signal)
}

/**
 * `visit` applied to each candidate as soon as its blob is read, a few at a time, so that a caller who keeps only
 * the result (a verdict) holds a few blobs at once, not all of them. More than MAX_SIGNATURE_BYTES_TOTAL of
 * layers for these artifacts is refused before it is read (declared sizes) or while it is (actual bytes).
 */
export async function eachCandidate<R>(
  repo: RepositoryHandle,
  artifacts: readonly Artifact[],
  visit: (candidate: Candidate) => R,
  signal?: AbortSignal,
): Promise<R[]> {
  const planned = artifacts.flatMap((artifact) => plannedCandidates(artifact))
  const first = artifacts[0]
  const budget = new ByteBudget(
    repo,
    first === undefined ? 'the image' : first.kind === 'legacy-tag' ? first.tag : (subjectOf(first.manifest) ?? first.manifest.digest),
  )
  budget.check(planned.reduce((n, p) => n + Math.max(0, p.layer.size), 0))
  return mapLimit(planned, FETCH_CONCURRENCY, async (p): Promise<R> => {
    const bytes = await repo.getSmallBlob(p.layer.digest as Digest, MAX_SIGNATURE_BLOB_BYTES, {signal})
    budget.spend(bytes.byteLength)
    return visit(toCandidate(p, bytes))
  })
}

function toCandidate(p: PlannedCandidate, bytes: Uint8Array): Candidate {
  if (p.kind === 'bundle') return {kind: 'bundle', bundle: bytes, source: p.source}
  const annotations = {...(p.layer.annotations ?? {})}
  if (p.kind === 'dsse-envelope') return {kind: 'dsse-envelope', envelope: bytes, annotations, source: p.source}
  return {kind: 'simple-signing', payload: bytes, annotations, source: p.source}
}

/** A running total of bytes read for one digest's signatures, refused past MAX_SIGNATURE_BYTES_TOTAL. */
class ByteBudget {
  private spent = 0
  constructor(
    private readonly repo: RepositoryHandle,
    private readonly subject: string,
  ) {}

  spend(bytes: number): void {
    this.spent += bytes
    this.check(this.spent)
  }

  check(total: number): void {
    if (total <= MAX_SIGNATURE_BYTES_TOTAL) return
    throw new SignatureError(
      'SIGNATURES_TOO_LARGE',
      `${this.repo.name}: the signatures next to ${this.subject} exceed ${MAX_SIGNATURE_BYTES_TOTAL / (1024 * 1024)} MiB in total, more than image-syncer reads for one image`,
    )
  }
}

interface PlannedCandidate {
  kind: Candidate['kind']
  layer: Descriptor
  source: string
}

/** Which layers of an artifact become candidates, and of what kind; no I/O, so it is easy to reason about. */
function plannedCandidates(artifact: Artifact): PlannedCandidate[] {
  if (artifact.manifest.parsed.kind !== 'image') return []
  const manifest = artifact.manifest.parsed.manifest
  if (artifact.kind === 'legacy-tag') {
    const wanted = artifact.suffix === 'sig' ? SIMPLE_SIGNING_MEDIA_TYPE : artifact.suffix === 'att' ? DSSE_MEDIA_TYPE : null
    if (wanted === null) return []
    const kind = artifact.suffix === 'sig' ? 'simple-signing' : 'dsse-envelope'
    return manifest.layers.flatMap((layer, i) =>
      layer.mediaType === wanted && isDigest(layer.digest) ? [{kind, layer, source: `tag ${artifact.tag} layer ${i}`}] : [],
    )
  }
  const source = `referrer ${artifact.manifest.digest}`
  const only = manifest.layers.length === 1 ? manifest.layers[0]! : undefined
  if (only?.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX) && isDigest(only.digest)) return [{kind: 'bundle', layer: only, source}]
  const artifactType = manifest.artifactType ?? manifest.config.mediaType
  const layersOf = (kind: PlannedCandidate['kind'], mediaType: string) =>
    manifest.layers.flatMap((layer, i) => (layer.mediaType === mediaType && isDigest(layer.digest) ? [{kind, layer, source: `${source} layer ${i}`}] : []))
  if (artifactType === COSIGN_SIG_ARTIFACT_TYPE) return layersOf('simple-signing', SIMPLE_SIGNING_MEDIA_TYPE)
  if (artifactType === IN_TOTO_ARTIFACT_TYPE) return layersOf('dsse-envelope', DSSE_MEDIA_TYPE)
  return []
}
