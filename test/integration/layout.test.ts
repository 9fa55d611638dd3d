/**
 * The OCI layout store (src/registry/layout/) on real directories: a round trip of an image, a multi-platform
 * index and a referrer; the never-move-a-tag rule; and every kind of broken or hostile layout, each refused
 * with one sentence that names the path to look at.
 */
import {afterAll, describe, expect, test} from 'bun:test'
import {mkdir, readdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {MediaType} from '../../src/oci/media-types.ts'
import {categoryOf} from '../../src/ref/errors.ts'
import {blobPath} from '../../src/registry/layout/files.ts'
import {LayoutError} from '../../src/registry/layout-errors.ts'
import type {OciLayout} from '../../src/registry/layout/layout.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {rejectedWith} from '../support/errors.ts'
import {makeImage, makeIndex} from '../support/images.ts'
import {makeReferrer, readAll, storeArtifact, storeImage, storeIndex, streamOf, tempDir} from '../support/layout.ts'
import {testPace} from '../support/pace.ts'

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

async function fresh(): Promise<{dir: string; layout: OciLayout}> {
  const {dir, cleanup} = await tempDir()
  cleanups.push(cleanup)
  return {dir, layout: await openLayout(join(dir, 'repo'), {create: true, pace: testPace()})}
}

/** The error's message is one sentence naming `path`. */
function expectNames(err: LayoutError, path: string): void {
  expect(err.message).toContain(path)
  expect(err.message).not.toContain('\n')
}

describe('creating and round-tripping a layout', () => {
  test('create writes oci-layout and an empty OCI index', async () => {
    const {layout} = await fresh()
    expect(JSON.parse(await readFile(join(layout.root, 'oci-layout'), 'utf8'))).toStrictEqual({imageLayoutVersion: '1.0.0'})
    expect(JSON.parse(await readFile(join(layout.root, 'index.json'), 'utf8'))).toStrictEqual({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []})
    expect(await readdir(join(layout.root, 'blobs'))).toStrictEqual([])
    expect(await layout.listTags()).toStrictEqual([])
  })

  test('an image, a 2-platform index and a referrer come back byte for byte, verified', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    const index = makeIndex({
      flavor: 'oci',
      platforms: [
        {os: 'linux', architecture: 'amd64'},
        {os: 'linux', architecture: 'arm64'},
      ],
    })
    const referrer = makeReferrer(image, 'sbom')
    expect(await storeImage(layout, image, 'v1')).toStrictEqual({kind: 'tagged'})
    expect(await storeIndex(layout, index, 'multi')).toStrictEqual({kind: 'tagged'})
    expect(await storeArtifact(layout, referrer)).toStrictEqual({kind: 'stored'})

    // A second handle on the same directory sees everything (nothing lives only in memory).
    const reopened = await openLayout(layout.root, {create: false, pace: testPace()})
    expect(await reopened.listTags()).toStrictEqual(['multi', 'v1'])
    expect(await reopened.headManifest('v1')).toStrictEqual({digest: image.digest, mediaType: MediaType.OciManifest, size: image.bytes.length})
    const got = await reopened.getManifest('multi')
    expect(got.digest).toBe(index.digest)
    expect(got.bytes).toStrictEqual(index.bytes)
    expect(got.parsed.kind).toBe('index')
    // A child of the index has no index.json entry: found by digest through its blob.
    const child = index.children[1]!
    expect(await reopened.headManifest(child.digest)).toStrictEqual({digest: child.digest, mediaType: MediaType.OciManifest, size: child.bytes.length})
    expect((await reopened.getManifest(child.digest)).bytes).toStrictEqual(child.bytes)
    // A layer is a blob but not a manifest.
    expect(await reopened.headManifest(image.layers[0]!.digest)).toBeNull()
    expect(await reopened.headManifest('absent')).toBeNull()
    expect(await reopened.getManifestIfPresent(`sha256:${'0'.repeat(64)}`)).toBeNull()

    const blob = await reopened.getBlob(image.layers[1]!.digest)
    expect(blob.size).toBe(image.layers[1]!.bytes.length)
    expect(await readAll(blob.body)).toStrictEqual(image.layers[1]!.bytes)
    expect(await reopened.headBlob(image.config.digest)).toBe(image.config.bytes.length)

    expect(await reopened.listReferrers(image.digest)).toStrictEqual([
      {
        mediaType: MediaType.OciManifest,
        digest: referrer.digest,
        size: referrer.bytes.length,
        artifactType: 'application/spdx+json',
        annotations: {'org.example.seed': 'sbom'},
      },
    ])
    expect(await reopened.listReferrers(index.digest)).toStrictEqual([])
    // An entry of a type we cannot parse (old oras's artifact manifest) does not hide the referrers we can.
    const path = join(layout.root, 'index.json')
    const withArtifact = JSON.parse(await readFile(path, 'utf8'))
    withArtifact.manifests.push({mediaType: 'application/vnd.oci.artifact.manifest.v1+json', digest: image.config.digest, size: image.config.bytes.length})
    await writeFile(path, JSON.stringify(withArtifact))
    expect((await reopened.listReferrers(image.digest)).map((d) => d.digest)).toStrictEqual([referrer.digest])
    // The referrer is listed in index.json, untagged, so other tools (and the fallback scan) find it.
    const entries = JSON.parse(await readFile(join(layout.root, 'index.json'), 'utf8')).manifests
    expect(entries.find((d: {digest: string}) => d.digest === referrer.digest)).toStrictEqual({
      mediaType: MediaType.OciManifest,
      digest: referrer.digest,
      size: referrer.bytes.length,
      artifactType: 'application/spdx+json',
    })
  })

  test('a large blob streams in and out in chunks, verified', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci', layers: 1, layerSize: 3 * 1024 * 1024 + 17})
    await storeImage(layout, image, 'big')
    const blob = await layout.getBlob(image.layers[0]!.digest)
    expect(await readAll(blob.body)).toStrictEqual(image.layers[0]!.bytes)
  })

  test('putting a present blob again does not rewrite it; docker media types are kept', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'docker'})
    await storeImage(layout, image, 'v1')
    expect(await layout.putBlob({digest: image.config.digest, size: image.config.bytes.length, body: streamOf(image.config.bytes)})).toStrictEqual({
      kind: 'exists',
    })
    expect((await layout.getManifest('v1')).mediaType).toBe(MediaType.DockerManifest)
  })
})

describe('tags are never moved', () => {
  test('a tag on other content is reported, not replaced; the same digest is a no-op', async () => {
    const {layout} = await fresh()
    const first = makeImage({flavor: 'oci'})
    const second = makeImage({flavor: 'oci'})
    expect(await storeImage(layout, first, 'v1')).toStrictEqual({kind: 'tagged'})
    expect(await storeImage(layout, second, 'v1')).toStrictEqual({kind: 'exists', digest: first.digest})
    expect(await storeImage(layout, first, 'v1')).toStrictEqual({kind: 'unchanged'})
    expect((await layout.headManifest('v1'))?.digest).toBe(first.digest)
    // The second manifest was stored by digest all the same (a caller may tag it elsewhere).
    expect((await layout.headManifest(second.digest))?.digest).toBe(second.digest)
  })
})

describe('refused writes leave nothing behind', () => {
  test('a blob whose bytes do not match its digest or size', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    const layer = image.layers[0]!
    const wrong = await rejectedWith(LayoutError, layout.putBlob({digest: layer.digest, size: layer.bytes.length, body: streamOf(image.layers[1]!.bytes)}))
    expect(wrong.code).toBe('DIGEST_MISMATCH')
    expectNames(wrong, blobPath(layout.root, layer.digest))
    const short = await rejectedWith(LayoutError, layout.putBlob({digest: layer.digest, size: layer.bytes.length + 1, body: streamOf(layer.bytes)}))
    expect(short.code).toBe('SIZE_MISMATCH')
    const long = await rejectedWith(LayoutError, layout.putBlob({digest: layer.digest, size: 10, body: streamOf(layer.bytes)}))
    expect(long.code).toBe('SIZE_MISMATCH')
    expect(await readdir(join(layout.root, 'blobs', 'sha256'))).toStrictEqual([])
  })

  test('a manifest before its blobs, under a wrong digest, or under an invalid tag', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    const early = await rejectedWith(LayoutError, layout.putManifest('v1', image))
    expect(early.code).toBe('MANIFEST_BLOB_UNKNOWN')
    expect(early.message).toContain(image.config.digest)
    await storeImage(layout, image)
    const other = makeImage({flavor: 'oci'})
    expect((await rejectedWith(LayoutError, layout.putManifest(other.digest, image))).code).toBe('INVALID_REFERENCE')
    expect((await rejectedWith(LayoutError, layout.putManifest('v1', {...image, digest: other.digest}))).code).toBe('DIGEST_MISMATCH')
    expect((await rejectedWith(LayoutError, layout.putManifest('-bad', image))).code).toBe('INVALID_REFERENCE')
    expect(await layout.listTags()).toStrictEqual([])
  })
})

describe('bad layouts: one sentence naming the path', () => {
  test('a directory that does not exist (not creating)', async () => {
    const {dir} = await fresh()
    const err = await rejectedWith(LayoutError, openLayout(join(dir, 'nope'), {create: false, pace: testPace()}))
    expect(err.code).toBe('NOT_A_LAYOUT')
    expect(categoryOf(err)).toBe('input')
    expectNames(err, join(dir, 'nope'))
  })

  test('no oci-layout file', async () => {
    const {dir} = await fresh()
    await mkdir(join(dir, 'plain'))
    const err = await rejectedWith(LayoutError, openLayout(join(dir, 'plain'), {create: false, pace: testPace()}))
    expect(err.code).toBe('NOT_A_LAYOUT')
    expectNames(err, join(dir, 'plain', 'oci-layout'))
  })

  test('an index.json without oci-layout is not adopted when creating', async () => {
    const {dir} = await fresh()
    await mkdir(join(dir, 'foreign'))
    await writeFile(join(dir, 'foreign', 'index.json'), '{}')
    const err = await rejectedWith(LayoutError, openLayout(join(dir, 'foreign'), {create: true, pace: testPace()}))
    expect(err.code).toBe('NOT_A_LAYOUT')
    expectNames(err, join(dir, 'foreign'))
  })

  test('a wrong imageLayoutVersion', async () => {
    const {layout} = await fresh()
    await writeFile(join(layout.root, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}')
    const err = await rejectedWith(LayoutError, openLayout(layout.root, {create: false, pace: testPace()}))
    expect(err.code).toBe('UNSUPPORTED_LAYOUT_VERSION')
    expect(err.message).toContain('"2.0.0"')
    expectNames(err, join(layout.root, 'oci-layout'))
  })

  test('an index.json that is not JSON, not an index, or lists an invalid digest', async () => {
    const {layout} = await fresh()
    const path = join(layout.root, 'index.json')
    for (const text of [
      '{not json',
      '{"schemaVersion":2}',
      JSON.stringify({schemaVersion: 2, manifests: [{mediaType: MediaType.OciManifest, digest: 'sha256:../../etc/passwd', size: 1}]}),
    ]) {
      await writeFile(path, text)
      const err = await rejectedWith(LayoutError, openLayout(layout.root, {create: false, pace: testPace()}))
      expect(err.code).toBe('INVALID_INDEX')
      expect(categoryOf(err)).toBe('content')
      expectNames(err, path)
    }
  })

  test('index.json pointing at a missing blob', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    await storeImage(layout, image, 'v1')
    await Bun.file(blobPath(layout.root, image.digest)).delete()
    const err = await rejectedWith(LayoutError, layout.getManifest('v1'))
    expect(err.code).toBe('BLOB_MISSING')
    expect(categoryOf(err)).toBe('content')
    expectNames(err, blobPath(layout.root, image.digest))
    // Listing referrers reads every listed manifest, so it fails the same way rather than hide the damage.
    expect((await rejectedWith(LayoutError, layout.listReferrers(image.digest))).code).toBe('BLOB_MISSING')
  })

  test('a manifest or blob the layout does not have is absent (not-found, as a registry 404), named by path', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    await storeImage(layout, image, 'v1')
    const manifest = await rejectedWith(LayoutError, layout.getManifest('v2'))
    expect([manifest.code, categoryOf(manifest), manifest.message]).toStrictEqual(['MANIFEST_UNKNOWN', 'not-found', `${layout.root} has no manifest v2`])
    const other = makeImage({flavor: 'oci'}).layers[0]!.digest
    const blob = await rejectedWith(LayoutError, layout.getBlob(other))
    expect([blob.code, categoryOf(blob), blob.message]).toStrictEqual(['BLOB_UNKNOWN', 'not-found', `${blobPath(layout.root, other)} is missing`])
  })

  test('a manifest blob with wrong bytes, and a layer with wrong bytes (the stream errors, it does not end)', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    await storeImage(layout, image, 'v1')
    await writeFile(
      blobPath(layout.root, image.digest),
      new TextEncoder().encode(new TextDecoder().decode(image.bytes).replace('"schemaVersion": 2', '"schemaVersion":  2')),
    )
    const manifest = await rejectedWith(LayoutError, layout.getManifest('v1'))
    expect(manifest.code).toBe('DIGEST_MISMATCH')
    expectNames(manifest, blobPath(layout.root, image.digest))

    const layer = image.layers[0]!
    const tampered = new Uint8Array(layer.bytes)
    tampered[tampered.length - 1]! ^= 1
    await writeFile(blobPath(layout.root, layer.digest), tampered)
    const blob = await layout.getBlob(layer.digest)
    const received: Uint8Array[] = []
    const reader = blob.body.getReader()
    const streamed = await rejectedWith(
      LayoutError,
      (async () => {
        for (;;) {
          const {done, value} = await reader.read()
          if (done) return
          received.push(value)
        }
      })(),
    )
    expect(streamed.code).toBe('DIGEST_MISMATCH')
    expectNames(streamed, blobPath(layout.root, layer.digest))
    // The last chunk is held back until verified: the consumer never saw the whole (wrong) blob.
    expect(received.reduce((n, c) => n + c.length, 0)).toBeLessThan(tampered.length)
  })

  test('a blob symlink escaping the layout directory', async () => {
    const {dir, layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    await storeImage(layout, image, 'v1')
    const secret = join(dir, 'secret')
    await writeFile(secret, image.layers[0]!.bytes)
    const path = blobPath(layout.root, image.layers[0]!.digest)
    await Bun.file(path).delete()
    await symlink(secret, path)
    const err = await rejectedWith(LayoutError, layout.getBlob(image.layers[0]!.digest))
    expect(err.code).toBe('OUTSIDE_LAYOUT')
    expectNames(err, path)
    expect((await rejectedWith(LayoutError, layout.headBlob(image.layers[0]!.digest))).code).toBe('OUTSIDE_LAYOUT')
  })

  test('a blob that is a symlink loop', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    await storeImage(layout, image, 'v1')
    const path = blobPath(layout.root, image.config.digest)
    await Bun.file(path).delete()
    await symlink(path, path)
    const err = await rejectedWith(LayoutError, layout.getBlob(image.config.digest))
    expect(err.code).toBe('OUTSIDE_LAYOUT')
    expectNames(err, path)
  })

  test('index.json removed after opening is damage, not an empty layout', async () => {
    const {layout} = await fresh()
    await Bun.file(join(layout.root, 'index.json')).delete()
    const err = await rejectedWith(LayoutError, layout.listTags())
    expect(err.code).toBe('INVALID_INDEX')
    expectNames(err, join(layout.root, 'index.json'))
  })

  test('an index.json symlink escaping the layout directory', async () => {
    const {dir, layout} = await fresh()
    await writeFile(join(dir, 'elsewhere.json'), JSON.stringify({schemaVersion: 2, manifests: []}))
    await Bun.file(join(layout.root, 'index.json')).delete()
    await symlink(join(dir, 'elsewhere.json'), join(layout.root, 'index.json'))
    const err = await rejectedWith(LayoutError, openLayout(layout.root, {create: false, pace: testPace()}))
    expect(err.code).toBe('OUTSIDE_LAYOUT')
    expectNames(err, join(layout.root, 'index.json'))
  })

  test('a blobs directory symlinked outside is not written through', async () => {
    const {dir, layout} = await fresh()
    await mkdir(join(dir, 'outside'))
    await Bun.$`rm -r ${join(layout.root, 'blobs')}`.quiet()
    await symlink(join(dir, 'outside'), join(layout.root, 'blobs'))
    const image = makeImage({flavor: 'oci'})
    const err = await rejectedWith(LayoutError, storeImage(layout, image, 'v1'))
    expect(err.code).toBe('OUTSIDE_LAYOUT')
    expect(await readdir(join(dir, 'outside'))).toStrictEqual([])
  })

  test('a FIFO named like a blob is refused, not read (which would block)', async () => {
    const {layout} = await fresh()
    const image = makeImage({flavor: 'oci'})
    await storeImage(layout, image, 'v1')
    const path = blobPath(layout.root, image.layers[0]!.digest)
    await Bun.file(path).delete()
    await Bun.$`mkfifo ${path}`.quiet()
    const err = await rejectedWith(LayoutError, layout.getBlob(image.layers[0]!.digest))
    expect(err.code).toBe('NOT_A_FILE')
    expectNames(err, path)
  })

  test('a tag listed twice with different digests', async () => {
    const {layout} = await fresh()
    const [a, b] = [makeImage({flavor: 'oci'}), makeImage({flavor: 'oci'})]
    await storeImage(layout, a, 'v1')
    await storeImage(layout, b, 'v2')
    const path = join(layout.root, 'index.json')
    await writeFile(path, (await readFile(path, 'utf8')).replaceAll('"v2"', '"v1"'))
    const err = await rejectedWith(LayoutError, layout.headManifest('v1'))
    expect(err.code).toBe('AMBIGUOUS_TAG')
    expectNames(err, path)
  })
})
