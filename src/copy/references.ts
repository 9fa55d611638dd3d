/** What a manifest references, as the walk needs it: distinct digests, checked, without what registries never store. */
import type {Descriptor, Manifest} from '../oci/manifest.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import type {FetchedManifest} from '../registry/handle.ts'

/** Layers that registries do not store (Windows foreign layers); they are referenced, never copied. */
const NON_DISTRIBUTABLE = /(foreign|nondistributable)/

/** The distinct child manifests of an index (an index may list one twice, at every level). */
export function childrenOf(manifest: FetchedManifest): Digest[] {
  if (manifest.parsed.kind !== 'index') return []
  return [...new Set(manifest.parsed.index.manifests.map(descriptorDigest))]
}

/** A child manifest as an index lists it: the digest, and the size that the child's bytes must have. */
export interface ChildReference {
  digest: Digest
  size: number
}

/**
 * The distinct (digest, size) children of an index: a child listed twice with two sizes is checked both ways,
 * so that one wrong descriptor cannot hide behind a right one.
 */
export function childReferencesOf(manifest: FetchedManifest): ChildReference[] {
  if (manifest.parsed.kind !== 'index') return []
  const children = manifest.parsed.index.manifests.map((d) => ({digest: descriptorDigest(d), size: d.size}))
  return [...new Map(children.map((child) => [`${child.digest}#${child.size}`, child])).values()]
}

/** A blob an image manifest lists, and as what (a digest listed as config and as a layer counts as a layer). */
export interface BlobReference {
  digest: Digest
  size: number
  kind: 'config' | 'layer'
}

/**
 * The distinct blobs of an image manifest that registries store (config and layers; a layer may repeat), by
 * digest and declared size: a digest listed with two sizes is two needs, of which the copy refuses the wrong one.
 */
export function blobsOf(manifest: FetchedManifest): BlobReference[] {
  if (manifest.parsed.kind !== 'image') return []
  const blobs = distributable(manifest.parsed.manifest).map(({descriptor, kind}) => ({digest: descriptorDigest(descriptor), size: descriptor.size, kind}))
  return [...new Map(blobs.map((blob) => [`${blob.digest}#${blob.size}`, blob])).values()]
}

/**
 * The blobs of an image manifest that registries store (not foreign layers, which are only referenced by URL),
 * each digest once, unchecked: what the copy walks, and what the plan adds up without walking.
 */
export function storedBlobsOf(manifest: Manifest): {descriptor: Descriptor; kind: BlobReference['kind']}[] {
  return [...new Map(distributable(manifest).map((blob) => [blob.descriptor.digest, blob])).values()]
}

/** Config and layers in order, without foreign layers; a layer listed after the config wins a shared digest. */
function distributable(manifest: Manifest): {descriptor: Descriptor; kind: BlobReference['kind']}[] {
  const listed = [{descriptor: manifest.config, kind: 'config' as const}, ...manifest.layers.map((descriptor) => ({descriptor, kind: 'layer' as const}))]
  return listed.filter(({descriptor: d}) => !(d.urls?.length && NON_DISTRIBUTABLE.test(d.mediaType)))
}

function descriptorDigest(descriptor: Descriptor): Digest {
  if (!isDigest(descriptor.digest)) throw new Error(`descriptor has an invalid digest "${descriptor.digest}"`)
  return descriptor.digest
}

export async function filterAsync<T>(items: readonly T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const verdicts = await Promise.all(items.map(keep))
  return items.filter((_, i) => verdicts[i])
}
