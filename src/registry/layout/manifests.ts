/**
 * What the layout needs to know about manifests beyond parsing them: which content they reference (so a
 * manifest is never stored before its blobs, as a registry would refuse it), what a bare blob is when it has
 * no index.json entry, and the two index.json changes a manifest put makes (tag it, list a referrer).
 */
import type {Descriptor, ParsedManifest} from '../../oci/manifest.ts'
import {MediaType, baseMediaType} from '../../oci/media-types.ts'
import type {Digest} from '../../ref/digest.ts'
import {REF_NAME, tagOf, updateIndex} from './index-file.ts'
import type {LockOptions} from './lock.ts'

/**
 * What tagging did: the tag now names the manifest (`tagged`), already named it (`unchanged`), or names other
 * content (`exists`, with that content's digest), in which case it was left alone so the caller can report a
 * conflict: a mirror never moves a tag.
 */
export type TagPut = {kind: 'tagged'} | {kind: 'unchanged'} | {kind: 'exists'; digest: Digest}

/**
 * The content a manifest references that must be in the layout before it: config and layers of an image,
 * the manifests of an index. Not the subject (a referrer may arrive before what it refers to, as in
 * registries), and not foreign layers with `urls` (Windows base layers are never distributed with the image).
 */
export function childrenOf(parsed: ParsedManifest): Descriptor[] {
  if (parsed.kind === 'index') return parsed.index.manifests
  return [parsed.manifest.config, ...parsed.manifest.layers].filter((d) => !d.urls || d.urls.length === 0)
}

/**
 * The media type of blob bytes that are a manifest, or null when they are not one. A manifest without a
 * `mediaType` field (allowed in OCI) is recognised by shape, as image-spec's guidance for that case says.
 */
export function detectMediaType(bytes: Uint8Array): string | null {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return null
  }
  if (typeof json !== 'object' || json === null || (json as {schemaVersion?: unknown}).schemaVersion !== 2) return null
  const body = json as {mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown}
  if (typeof body.mediaType === 'string') return baseMediaType(body.mediaType)
  if (Array.isArray(body.manifests)) return MediaType.OciIndex
  if (typeof body.config === 'object' && Array.isArray(body.layers)) return MediaType.OciManifest
  return null
}

/**
 * Points `tag` at `descriptor` in index.json unless it names other content already. `replacing`: the one
 * digest the tag may be moved from (a read-modify-write such as a cosign `.sig` merge, If-Match in a
 * registry); any other content, or a tag created meanwhile, is left alone and reported as `exists`.
 */
export function setTag(root: string, tag: string, descriptor: Descriptor, replacing: Digest | null, lock: LockOptions): Promise<TagPut> {
  return updateIndex<TagPut>(
    root,
    (index) => {
      const current = index.manifests.find((d) => tagOf(d) === tag)
      if (current?.digest === descriptor.digest) return {next: null, result: {kind: 'unchanged'}}
      if (current && current.digest !== replacing) return {next: null, result: {kind: 'exists', digest: current.digest as Digest}}
      if (!current && replacing !== null) return {next: null, result: {kind: 'exists', digest: replacing}}
      const entry: Descriptor = {...descriptor, annotations: {[REF_NAME]: tag}}
      const kept = index.manifests.filter((d) => tagOf(d) !== tag)
      return {next: {...index, manifests: [...kept, entry]}, result: {kind: 'tagged'}}
    },
    lock,
  )
}

/** Lists a referrer in index.json without a tag, once: the layout's referrers are found from those entries. */
export function addUntagged(root: string, descriptor: Descriptor, lock: LockOptions): Promise<void> {
  return updateIndex<void>(
    root,
    (index) => {
      if (index.manifests.some((d) => d.digest === descriptor.digest)) return {next: null, result: undefined}
      return {next: {...index, manifests: [...index.manifests, descriptor]}, result: undefined}
    },
    lock,
  )
}
