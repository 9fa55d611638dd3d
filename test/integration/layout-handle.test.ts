/**
 * The OCI layout as a store handle (src/registry/layout/repository.ts): the conditional tag writes apply and
 * signature carrying rely on (create-only, replace-only-what-was-read), a cosign `.sig` merge into a layout,
 * referrers found through `subject` without a fallback index, and bounded small-blob reads.
 */
import {afterAll, describe, expect, test} from 'bun:test'
import {stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {LayoutRepository} from '../../src/registry/layout/repository.ts'
import {ContentError} from '../../src/registry/errors.ts'
import {LayoutError} from '../../src/registry/layout-errors.ts'
import {appendLegacySignature, pushReferrer} from '../../src/signatures/copy.ts'
import {discoverArtifacts} from '../../src/signatures/discover.ts'
import {rejectedWith} from '../support/errors.ts'
import {makeImage} from '../support/images.ts'
import {streamOf, tempDir} from '../support/layout.ts'
import {bundleReferrer, SIGNATURE_KEY, SIMPLE_SIGNING} from './signature-fixtures.ts'
import {testPace} from '../support/pace.ts'

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

/** A new layout target holding `image` by digest (blobs first, as the copy engine stores them). */
async function target() {
  const {dir, cleanup} = await tempDir('handle')
  cleanups.push(cleanup)
  const repo = new LayoutRepository(join(dir, 'acme/app'), 'target', {pace: testPace()})
  const image = makeImage({flavor: 'oci'})
  for (const blob of [image.config, ...image.layers]) await repo.putBlob({digest: blob.digest, size: blob.bytes.length, open: async () => streamOf(blob.bytes)})
  await repo.putManifest(image.digest, image)
  return {repo, image}
}

describe('a layout as a repository handle', () => {
  test("If-None-Match: * creates a tag once; another writer's tag is a precondition failure, never moved", async () => {
    const {repo, image} = await target()
    expect(await repo.putManifest('1.0', image, {ifNoneMatch: '*'})).toStrictEqual({kind: 'stored', referrer: null})
    const other = makeImage({flavor: 'oci', layers: 0})
    await repo.putBlob({digest: other.config.digest, size: other.config.bytes.length, open: async () => streamOf(other.config.bytes)})
    expect(await repo.putManifest('1.0', other, {ifNoneMatch: '*'})).toStrictEqual({kind: 'precondition-failed'})
    expect(await repo.putManifest('1.0', other)).toStrictEqual({kind: 'precondition-failed'})
    expect((await repo.headManifest('1.0'))?.digest).toBe(image.digest)
  })

  test('If-Match with the digest read replaces the tag; a stale one does not', async () => {
    const {repo, image} = await target()
    await repo.putManifest('sig', image)
    const read = await repo.getManifestIfPresent('sig')
    expect(read?.etag).toBe(image.digest)
    const other = makeImage({flavor: 'oci', layers: 0})
    await repo.putBlob({digest: other.config.digest, size: other.config.bytes.length, open: async () => streamOf(other.config.bytes)})
    expect(await repo.putManifest('sig', other, {ifMatch: `sha256:${'0'.repeat(64)}`})).toStrictEqual({kind: 'precondition-failed'})
    expect(await repo.putManifest('sig', other, {ifMatch: read!.etag})).toStrictEqual({kind: 'stored', referrer: null})
    expect((await repo.headManifest('sig'))?.digest).toBe(other.digest)
    expect(await repo.listTags()).toStrictEqual({kind: 'listed', tags: new Set(['sig'])})
  })

  test('a cosign .sig tag is appended to in place, and both signatures are discovered', async () => {
    const {repo, image} = await target()
    const layer = (note: string) => ({
      payload: new TextEncoder().encode(`{"critical":{"image":{"docker-manifest-digest":"${image.digest}"}},"optional":{"n":"${note}"}}`),
      annotations: {[SIGNATURE_KEY]: note},
      mediaType: SIMPLE_SIGNING,
    })
    expect(await appendLegacySignature(repo, image.digest, layer('one'))).toBe('appended')
    expect(await appendLegacySignature(repo, image.digest, layer('two'))).toBe('appended')
    expect(await appendLegacySignature(repo, image.digest, layer('two'))).toBe('already-present')
    const [sig] = await discoverArtifacts(repo, image.digest)
    expect(sig?.kind === 'legacy-tag' && sig.manifest.parsed.kind === 'image' ? sig.manifest.parsed.manifest.layers.length : 0).toBe(2)
  })

  test('a referrer is found through its subject: the layout needs no fallback index', async () => {
    const {repo, image} = await target()
    const bundle = bundleReferrer(image, 'handle')
    expect(
      (
        await pushReferrer(
          repo,
          bundle.bytes,
          bundle.blobs.map((b) => b.bytes),
        )
      ).referrer,
    ).toBe('indexed')
    expect(await repo.listReferrers(image.digest)).toStrictEqual({api: 'supported', descriptors: [expect.objectContaining({digest: bundle.digest})] as never})
    expect(await repo.listTags()).toStrictEqual({kind: 'listed', tags: new Set()})
  })

  test('a small-blob read is bounded by the size on disk before anything is read', async () => {
    const {repo, image} = await target()
    const err = await rejectedWith(ContentError, repo.getSmallBlob(image.layers[0]!.digest, 8))
    expect(err.code).toBe('BLOB_TOO_LARGE')
  })

  test('a source that is not a layout is reported with its path, and nothing is created', async () => {
    const {dir, cleanup} = await tempDir('handle')
    cleanups.push(cleanup)
    const repo = new LayoutRepository(join(dir, 'missing'), 'source', {pace: testPace()})
    await expect(repo.headManifest('1.0')).rejects.toThrow(`${join(dir, 'missing')} does not exist, so it is not an OCI image layout`)
    expect(await Bun.file(join(dir, 'missing')).exists()).toBe(false)
  })

  test('a blob another layout holds is linked, not copied: one file on disk, read and hashed first', async () => {
    const {repo: first, image} = await target()
    const second = new LayoutRepository(join(first.name, '..', 'other'), 'target', {pace: testPace()})
    const layer = image.layers[0]!
    const source = {digest: layer.digest, size: layer.bytes.length, open: async () => streamOf(layer.bytes)}
    expect(await second.putBlob(source, {mountFrom: first})).toBe('mounted')
    const blobFile = (root: string) => join(root, 'blobs/sha256', layer.digest.split(':')[1]!)
    expect((await stat(blobFile(second.name))).ino).toBe((await stat(blobFile(first.name))).ino)

    const third = new LayoutRepository(join(first.name, '..', 'third'), 'target', {pace: testPace()})
    await writeFile(blobFile(first.name), new Uint8Array(layer.bytes.length))
    await expect(
      third.putBlob({...image.layers[1]!, size: image.layers[1]!.bytes.length, open: async () => streamOf(image.layers[1]!.bytes)}, {mountFrom: first}),
    ).resolves.toBe('mounted')
    const err = await rejectedWith(LayoutError, third.putBlob(source, {mountFrom: first}))
    expect(err.code).toBe('DIGEST_MISMATCH')
    expect(await third.headBlob(layer.digest)).toBeNull()
  })
})
