/** What a manifest references, as the walk needs it: distinct digests, checked, without what registries never store. */
import type {Descriptor} from '../oci/manifest.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import type {FetchedManifest} from '../registry/client.ts'

/** Layers that registries do not store (Windows foreign layers); they are referenced, never copied. */
const NON_DISTRIBUTABLE = /(foreign|nondistributable)/

/** The distinct child manifests of an index (an index may list one twice, at every level). */
export function childrenOf(manifest: FetchedManifest): Digest[] {
  if (manifest.parsed.kind !== 'index') return []
  return [...new Set(manifest.parsed.index.manifests.map(descriptorDigest))]
}

/** A blob an image manifest lists, and as what (a digest listed as config and as a layer counts as a layer). */
export interface BlobReference {
  digest: Digest
  size: number
  kind: 'config' | 'layer'
}

/** The distinct blobs of an image manifest that registries store (config and layers; a layer may repeat). */
export function blobsOf(manifest: FetchedManifest): BlobReference[] {
  if (manifest.parsed.kind !== 'image') return []
  const {config, layers} = manifest.parsed.manifest
  const listed = [{descriptor: config, kind: 'config' as const}, ...layers.map((descriptor) => ({descriptor, kind: 'layer' as const}))]
  const stored = listed.filter(({descriptor}) => isStored(descriptor))
  return [...new Map(stored.map(({descriptor: d, kind}) => [descriptorDigest(d), {digest: descriptorDigest(d), size: d.size, kind}])).values()]
}

/** Whether registries store the blob a descriptor names: not a foreign layer, which is only referenced by URL. */
export function isStored(descriptor: Descriptor): boolean {
  return !(descriptor.urls?.length && NON_DISTRIBUTABLE.test(descriptor.mediaType))
}

function descriptorDigest(descriptor: Descriptor): Digest {
  if (!isDigest(descriptor.digest)) throw new Error(`descriptor has an invalid digest "${descriptor.digest}"`)
  return descriptor.digest
}

export async function filterAsync<T>(items: readonly T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const verdicts = await Promise.all(items.map(keep))
  return items.filter((_, i) => verdicts[i])
}
