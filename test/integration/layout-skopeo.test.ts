/**
 * Conformance of the OCI layout store with skopeo, both ways, through a real docker-registry on loopback:
 *   - a layout written by our code (an image, a 2-platform index, a referrer) is read by `skopeo inspect --raw`
 *     byte for byte, and `skopeo copy --all oci:DIR:TAG docker://…` pushes it with every digest unchanged;
 *   - a layout written by `skopeo copy --all docker://… oci:DIR:TAG` is read by our code: tags, manifests and
 *     blobs, all verified; and a tag we add to skopeo's layout is readable by skopeo again;
 *   - the limit the README states: an image of Docker schema 2 media types, written digest-exactly into a layout,
 *     is invisible to skopeo 1.9 (Debian bookworm), which skips such index.json entries; we read it.
 * Layers are real gzip (test/support/gzip-images.ts): skopeo compresses a "+gzip" layer that is not, which
 * would change the digests for a reason that has nothing to do with the layout.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {join} from 'node:path'
import {openLayout} from '../../src/registry/layout/open.ts'
import {makeGzipImage, makeGzipIndex} from '../support/gzip-images.ts'
import {headManifest, makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {makeReferrer, readAll, storeArtifact, storeImage, storeIndex, tempDir} from '../support/layout.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {skopeo, skopeoBinary} from '../support/skopeo.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)

const PLATFORMS = [
  {os: 'linux', architecture: 'amd64'},
  {os: 'linux', architecture: 'arm64'},
]
let registry: RealRegistry
let dir: string
let cleanup: () => Promise<void>

beforeAll(async () => {
  skopeoBinary()
  registry = await startRealRegistry()
  ;({dir, cleanup} = await tempDir('skopeo'))
})

afterAll(async () => {
  await registry?.stop()
  await cleanup?.()
})

describe('a layout written by image-syncer', () => {
  test('skopeo inspects it byte for byte and copies it into a registry with the digests unchanged', async () => {
    const path = join(dir, 'ours')
    const layout = await openLayout(path, {create: true, pace: testPace()})
    const image = makeGzipImage(crypto.randomUUID())
    const index = makeGzipIndex(crypto.randomUUID(), PLATFORMS)
    await storeImage(layout, image, 'img')
    await storeIndex(layout, index, 'multi')
    // An untagged referrer entry in index.json must not confuse skopeo's lookup by tag.
    await storeArtifact(layout, makeReferrer(image, 'sbom'))

    expect(await skopeo(['inspect', '--raw', `oci:${path}:img`])).toStrictEqual(image.bytes)
    expect(await skopeo(['inspect', '--raw', `oci:${path}:multi`])).toStrictEqual(index.bytes)

    for (const tag of ['img', 'multi']) {
      await skopeo(['copy', '--all', `oci:${path}:${tag}`, `docker://${registry.host}/conformance/ours:${tag}`, '--dest-tls-verify=false', '--dest-no-creds'])
    }
    expect((await headManifest(registry.url, 'conformance/ours', 'img')).digest).toBe(image.digest)
    expect((await headManifest(registry.url, 'conformance/ours', 'multi')).digest).toBe(index.digest)
    for (const child of index.children) {
      expect(await headManifest(registry.url, 'conformance/ours', child.digest)).toMatchObject({status: 200, digest: child.digest})
    }
  })
})

describe('a layout written by skopeo', () => {
  test('image-syncer reads its tags, manifests and blobs, verified, and skopeo reads a tag we add', async () => {
    const image = makeGzipImage(crypto.randomUUID())
    const index = makeGzipIndex(crypto.randomUUID(), PLATFORMS)
    await pushImage(registry.url, 'conformance/theirs', image, 'img')
    await pushIndex(registry.url, 'conformance/theirs', index, 'multi')
    const path = join(dir, 'theirs')
    for (const tag of ['img', 'multi']) {
      await skopeo(['copy', '--all', `docker://${registry.host}/conformance/theirs:${tag}`, `oci:${path}:${tag}`, '--src-tls-verify=false', '--src-no-creds'])
    }

    const layout = await openLayout(path, {create: false, pace: testPace()})
    expect(await layout.listTags()).toStrictEqual(['img', 'multi'])
    expect((await layout.getManifest('img')).bytes).toStrictEqual(image.bytes)
    const got = await layout.getManifest('multi')
    expect(got.digest).toBe(index.digest)
    expect(got.bytes).toStrictEqual(index.bytes)
    for (const child of [image, ...index.children]) {
      expect((await layout.getManifest(child.digest)).bytes).toStrictEqual(child.bytes)
      for (const blob of [child.config, ...child.layers]) {
        const stream = await layout.getBlob(blob.digest)
        expect(stream.size).toBe(blob.bytes.length)
        expect(await readAll(stream.body)).toStrictEqual(blob.bytes)
      }
    }
    expect(await layout.listReferrers(image.digest)).toStrictEqual([])

    expect(await layout.putManifest('again', index)).toStrictEqual({kind: 'tagged'})
    expect(await skopeo(['inspect', '--raw', `oci:${path}:again`])).toStrictEqual(index.bytes)
    expect(await skopeo(['inspect', '--raw', `oci:${path}:img`])).toStrictEqual(image.bytes)
  })
})

describe('Docker media types in a layout', () => {
  test('a Docker schema 2 image and list are read by image-syncer but not found by skopeo 1.9 (the README says so)', async () => {
    const version = new TextDecoder().decode(await skopeo(['--version'])).trim()
    const path = join(dir, 'docker-typed')
    const layout = await openLayout(path, {create: true, pace: testPace()})
    const image = makeImage({flavor: 'docker'})
    const list = makeIndex({flavor: 'docker', platforms: PLATFORMS})
    await storeImage(layout, image, 'docker-img')
    await storeIndex(layout, list, 'docker-list')
    // Digest-exact: the entries keep the Docker media types, which is what skopeo 1.9 skips.
    const entries = (JSON.parse(await Bun.file(join(path, 'index.json')).text()) as {manifests: Array<{mediaType: string}>}).manifests
    expect(entries.map((e) => e.mediaType)).toEqual([image.mediaType, list.mediaType])
    expect((await layout.getManifest('docker-img')).bytes).toStrictEqual(image.bytes)
    expect((await layout.getManifest('docker-list')).bytes).toStrictEqual(list.bytes)
    // If this starts to pass after a skopeo upgrade, update the README's "OCI image layouts" section.
    for (const tag of ['docker-img', 'docker-list']) {
      const error = await skopeo(['inspect', '--raw', `oci:${path}:${tag}`]).then(
        () => null,
        (e: Error) => e,
      )
      expect(error?.message, `${version} read ${tag}`).toMatch(new RegExp(`no descriptor found for reference \\\\?"${tag}\\\\?"`))
    }
  })
})
