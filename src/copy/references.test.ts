/** What the walk takes from a manifest: distinct children and blobs, each size checked, foreign layers left out. */
import {describe, expect, test} from 'bun:test'
import {parseManifest} from '../oci/manifest.ts'
import {MediaType} from '../oci/media-types.ts'
import {type Digest, sha256Digest} from '../ref/digest.ts'
import type {FetchedManifest} from '../registry/handle.ts'
import {blobsOf, childReferencesOf, childrenOf, filterAsync, storedBlobsOf} from './references.ts'

const d = (name: string): Digest => sha256Digest(name)
const descriptor = (name: string, size: number, mediaType: string = MediaType.OciLayerGzip, extra: object = {}) => ({
  mediaType,
  digest: d(name),
  size,
  ...extra,
})

function fetched(json: object, mediaType: string): FetchedManifest {
  const bytes = new TextEncoder().encode(JSON.stringify({schemaVersion: 2, mediaType, ...json}))
  return {digest: sha256Digest(bytes), mediaType, size: bytes.byteLength, bytes, parsed: parseManifest(bytes, mediaType)}
}

const image = (config: object, layers: object[]) => fetched({config, layers}, MediaType.OciManifest)
const index = (manifests: object[]) => fetched({manifests}, MediaType.OciIndex)

describe('children of an index', () => {
  const listed = index([
    descriptor('a', 10, MediaType.OciManifest),
    descriptor('b', 20, MediaType.OciManifest),
    descriptor('a', 10, MediaType.OciManifest),
    descriptor('a', 11, MediaType.OciManifest),
  ])

  test('each digest once for reading; each digest and size once for checking', () => {
    expect(childrenOf(listed)).toStrictEqual([d('a'), d('b')])
    expect(childReferencesOf(listed)).toStrictEqual([
      {digest: d('a'), size: 10},
      {digest: d('b'), size: 20},
      {digest: d('a'), size: 11},
    ])
  })

  test('an image has none, and an index has no blobs', () => {
    const plain = image(descriptor('config', 5, MediaType.OciConfig), [])
    expect([childrenOf(plain), childReferencesOf(plain), blobsOf(listed)]).toStrictEqual([[], [], []])
  })

  test('a child with an invalid digest is refused', () => {
    expect(() => childrenOf(index([{mediaType: MediaType.OciManifest, digest: 'sha256:nope', size: 1}]))).toThrow('invalid digest')
  })
})

describe('blobs of an image', () => {
  test('config and layers by digest and size, a repeated layer once, a digest with two sizes twice', () => {
    const manifest = image(descriptor('config', 5, MediaType.OciConfig), [descriptor('l1', 7), descriptor('l2', 8), descriptor('l1', 7), descriptor('l2', 9)])
    expect(blobsOf(manifest)).toStrictEqual([
      {digest: d('config'), size: 5, kind: 'config'},
      {digest: d('l1'), size: 7, kind: 'layer'},
      {digest: d('l2'), size: 8, kind: 'layer'},
      {digest: d('l2'), size: 9, kind: 'layer'},
    ])
  })

  test('a digest that is the config and a layer counts as a layer', () => {
    const manifest = image(descriptor('same', 2, MediaType.OciEmpty), [descriptor('same', 2, MediaType.OciEmpty)])
    expect(blobsOf(manifest)).toStrictEqual([{digest: d('same'), size: 2, kind: 'layer'}])
  })

  test('foreign layers with URLs are referenced, never copied; a foreign type without URLs is copied', () => {
    const foreign = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'
    const manifest = image(descriptor('config', 5, MediaType.DockerConfig), [
      descriptor('base', 100, foreign, {urls: ['https://example.invalid/base']}),
      descriptor('local', 100, foreign),
      descriptor('app', 3),
    ])
    expect(blobsOf(manifest).map((b) => b.digest)).toStrictEqual([d('config'), d('local'), d('app')])
    const parsed = manifest.parsed.kind === 'image' ? manifest.parsed.manifest : null
    expect(storedBlobsOf(parsed!).map((b) => [b.descriptor.digest, b.kind])).toStrictEqual([
      [d('config'), 'config'],
      [d('local'), 'layer'],
      [d('app'), 'layer'],
    ])
  })
})

test('filterAsync keeps the items whose verdict is true, in order', async () => {
  expect(await filterAsync([1, 2, 3, 4], async (n) => n % 2 === 0)).toStrictEqual([2, 4])
})
