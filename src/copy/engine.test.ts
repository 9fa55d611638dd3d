/**
 * The copy engine over the in-memory store (test/support/memory-store.ts): what it writes, what it reads, and how
 * many calls each takes, without a socket. The store keeps the handle contract as the registry store does (the
 * conformance suite checks that), so what holds here holds against a registry.
 */
import {testPace} from '../../test/support/pace.ts'
import {describe, expect, test} from 'bun:test'
import {categoryOf} from '../ref/errors.ts'
import {ContentError} from '../registry/errors.ts'
import type {Repository} from '../registry/handle.ts'
import {RegistryError} from '../transport/errors.ts'
import {rejectedWith} from '../../test/support/errors.ts'
import {blobSource, seedImage, seedIndex} from '../../test/support/handle-seed.ts'
import {type Image, makeImage, makeIndex} from '../../test/support/images.ts'
import {annotated, misSized} from '../../test/support/manifest-variants.ts'
import {type MemoryRepository, MemoryStores} from '../../test/support/memory-store.ts'
import type {BlobOutcome} from './blob-placement.ts'
import {CopyEngine, type Route} from './engine.ts'

const SOURCE: Repository = {registry: 'source.test', repository: 'acme/app'}
const TARGET: Repository = {registry: 'target.test', repository: 'mirror/app'}
const PLATFORMS = [
  {os: 'linux', architecture: 'amd64'},
  {os: 'linux', architecture: 'arm64'},
]

/** A source and a target in one memory store, seeded through `seed` with the log cleared after. */
async function stores(seed: (source: MemoryRepository) => Promise<void> = async () => {}) {
  const memory = new MemoryStores()
  const source = memory.repository(SOURCE)
  await seed(source)
  memory.clearLog()
  return {memory, source, target: memory.repository(TARGET)}
}

/** A route whose tally keeps each blob's outcome. */
function routeOf(source: MemoryRepository, target: MemoryRepository): {route: Route; outcomes: BlobOutcome[]} {
  const outcomes: BlobOutcome[] = []
  return {route: {source, target, tally: {blob: (outcome) => void outcomes.push(outcome), bytes: () => {}}}, outcomes}
}

/** Calls of `method` on `handle` about `reference`. */
function callsAbout(memory: MemoryStores, method: string, handle: MemoryRepository, reference: string): number {
  return memory.calls.filter((call) => call.method === method && call.repository === handle.name && call.reference === reference).length
}

const blobsOf = (image: Image) => [image.config, ...image.layers]

describe('copying a manifest tree', () => {
  test('an index with its children is copied whole, byte for byte, children before it and nothing tagged', async () => {
    const index = makeIndex({flavor: 'oci', platforms: PLATFORMS, attestation: true})
    const {memory, source, target} = await stores((s) => seedIndex(s, index, 'v1'))
    const {route, outcomes} = routeOf(source, target)
    await new CopyEngine({transfers: 4, pace: testPace()}).ensureManifest(route, index.digest, await source.getManifest('v1'))

    const held = memory.contents(TARGET)
    for (const manifest of [index, ...index.children]) expect(held.manifests.get(manifest.digest)?.bytes).toStrictEqual(manifest.bytes)
    const blobs = index.children.flatMap(blobsOf)
    for (const blob of blobs) expect(held.blobs.get(blob.digest)).toStrictEqual(blob.bytes)
    expect(held.tags.size).toBe(0)
    const puts = memory.calls.filter((c) => c.method === 'putManifest').map((c) => c.reference)
    expect(puts).toHaveLength(index.children.length + 1)
    expect(puts.at(-1)).toBe(index.digest)
    expect(outcomes).toStrictEqual(blobs.map(() => 'uploaded'))
  })

  test('blobs two manifests share are placed once: one read, one upload, the second need counts them present', async () => {
    const image = makeImage({flavor: 'oci'})
    const twin = annotated(image, 'twin')
    const {memory, source, target} = await stores(async (s) => {
      await seedImage(s, image)
      await s.putManifest(twin.digest, twin)
    })
    const {route, outcomes} = routeOf(source, target)
    const engine = new CopyEngine({transfers: 4, pace: testPace()})
    await Promise.all([engine.ensureManifest(route, image.digest), engine.ensureManifest(route, twin.digest)])

    expect([memory.count('getBlob', source), memory.count('putBlob', target)]).toStrictEqual([3, 3])
    expect(outcomes.sort()).toStrictEqual(['present', 'present', 'present', 'uploaded', 'uploaded', 'uploaded'])
    expect([await target.headManifest(image.digest), await target.headManifest(twin.digest)].map((h) => h?.digest)).toStrictEqual([image.digest, twin.digest])
  })

  test('a second repository of the target registry mounts what the first received; another registry is uploaded to', async () => {
    const image = makeImage({flavor: 'oci'})
    const {memory, source} = await stores((s) => seedImage(s, image))
    const engine = new CopyEngine({transfers: 4, pace: testPace()})
    const [one, two] = [memory.repository({...TARGET, repository: 'mirror/one'}), memory.repository({...TARGET, repository: 'mirror/two'})]
    const elsewhere = memory.repository({registry: 'other.test', repository: 'mirror/one'})
    const copies = [routeOf(source, one), routeOf(source, two), routeOf(source, elsewhere)]
    for (const {route} of copies) await engine.ensureManifest(route, image.digest)

    expect(copies.map((c) => c.outcomes)).toStrictEqual([
      ['uploaded', 'uploaded', 'uploaded'],
      ['mounted', 'mounted', 'mounted'],
      ['uploaded', 'uploaded', 'uploaded'],
    ])
    // A known holder needs no HEAD, and a mount reads nothing from the source.
    expect([memory.count('headBlob', two), memory.count('getBlob', source)]).toStrictEqual([0, 6])
    expect(memory.contents({...TARGET, repository: 'mirror/two'}).blobs.size).toBe(3)
  })

  test('a manifest the target holds costs one HEAD and nothing else, and is not asked about again this run', async () => {
    const index = makeIndex({flavor: 'oci', platforms: PLATFORMS})
    const {memory, source, target} = await stores((s) => seedIndex(s, index))
    await seedIndex(target, index)
    memory.clearLog()
    const engine = new CopyEngine({transfers: 4, pace: testPace()})
    await engine.ensureManifest(routeOf(source, target).route, index.digest)
    await engine.ensureManifest(routeOf(source, target).route, index.digest)
    expect(memory.calls).toStrictEqual([{method: 'headManifest', repository: target.name, reference: index.digest}])
  })

  test('a condition-free tag PUT stores; an if-absent one at a taken tag is `taken` and moves nothing', async () => {
    const [image, other] = [makeImage({flavor: 'oci', layers: 0}), makeImage({flavor: 'oci', layers: 0})]
    const {source, target} = await stores()
    await seedImage(target, image)
    await seedImage(target, other)
    const engine = new CopyEngine({transfers: 1, pace: testPace()})
    const route = routeOf(source, target).route
    expect(await engine.putManifest(route, 'v1', await target.getManifest(image.digest), 'if-absent')).toBe('stored')
    expect(await engine.putManifest(route, 'v1', await target.getManifest(other.digest), 'if-absent')).toBe('taken')
    expect((await target.headManifest('v1'))?.digest).toBe(image.digest)
  })

  test("ensureManifestWith runs the caller's PUT once and answers null to later needs of the digest", async () => {
    const image = makeImage({flavor: 'oci'})
    const {source, target} = await stores((s) => seedImage(s, image))
    const engine = new CopyEngine({transfers: 2, pace: testPace()})
    const route = routeOf(source, target).route
    const fetched = await source.getManifest(image.digest)
    let puts = 0
    const put = async () => {
      puts++
      return (await target.putManifest(image.digest, fetched)).kind
    }
    expect(await engine.ensureManifestWith(route, fetched, put)).toBe('stored')
    expect(await engine.ensureManifestWith(route, fetched, put)).toBeNull()
    expect(puts).toBe(1)
  })
})

describe('declared sizes', () => {
  test('an index listing a child with a wrong size fails, and an index listing it rightly is still copied', async () => {
    const index = makeIndex({flavor: 'oci', platforms: PLATFORMS})
    const child = index.children[1]!
    const bad = misSized(index, (json) => json.manifests!.find((d) => d.digest === child.digest)!)
    const {source, target} = await stores(async (s) => {
      await seedIndex(s, index)
      await s.putManifest(bad.digest, bad)
    })
    const engine = new CopyEngine({transfers: 4, pace: testPace()})
    const err = await rejectedWith(ContentError, engine.ensureManifest(routeOf(source, target).route, bad.digest))
    expect({code: err.code, names: err.message.includes(child.digest)}).toStrictEqual({code: 'SIZE_MISMATCH', names: true})
    expect(await target.headManifest(bad.digest)).toBeNull()
    await engine.ensureManifest(routeOf(source, target).route, index.digest)
    expect((await target.headManifest(index.digest))?.digest).toBe(index.digest)
  })

  test('a manifest listing a layer the target holds with another size fails before anything is uploaded', async () => {
    const image = makeImage({flavor: 'oci'})
    const layer = image.layers[0]!
    const bad = misSized(image, (json) => json.layers![0]!)
    const {memory, source, target} = await stores(async (s) => {
      await seedImage(s, image)
      await s.putManifest(bad.digest, bad)
    })
    await target.putBlob(blobSource(layer))
    memory.clearLog()
    const err = await rejectedWith(ContentError, new CopyEngine({transfers: 4, pace: testPace()}).ensureManifest(routeOf(source, target).route, bad.digest))
    expect({code: err.code, names: err.message.includes(layer.digest)}).toStrictEqual({code: 'SIZE_MISMATCH', names: true})
    expect([callsAbout(memory, 'putBlob', target, layer.digest), await target.headManifest(bad.digest)]).toStrictEqual([0, null])
  })

  test('a config listed with another size than the one this run uploaded fails; the right manifest stays copied', async () => {
    const image = makeImage({flavor: 'oci'})
    const bad = misSized(image, (json) => json.config!)
    const {source, target} = await stores(async (s) => {
      await seedImage(s, image)
      await s.putManifest(bad.digest, bad)
    })
    const engine = new CopyEngine({transfers: 4, pace: testPace()})
    await engine.ensureManifest(routeOf(source, target).route, image.digest)
    const err = await rejectedWith(ContentError, engine.ensureManifest(routeOf(source, target).route, bad.digest))
    expect({code: err.code, names: err.message.includes(image.config.digest)}).toStrictEqual({code: 'SIZE_MISMATCH', names: true})
    expect([(await target.headManifest(image.digest))?.digest, await target.headManifest(bad.digest)]).toStrictEqual([image.digest, null])
  })

  test('a child given with a wrong size is refused even when the target holds it (its HEAD says the size)', async () => {
    const image = makeImage({flavor: 'oci', layers: 1})
    const {source, target} = await stores((s) => seedImage(s, image))
    await seedImage(target, image)
    const err = await rejectedWith(
      ContentError,
      new CopyEngine({transfers: 1, pace: testPace()}).ensureManifest(routeOf(source, target).route, {digest: image.digest, size: image.bytes.byteLength + 1}),
    )
    expect(err.code).toBe('SIZE_MISMATCH')
  })
})

describe('reading a source tree through before writing', () => {
  const index = makeIndex({flavor: 'oci', platforms: PLATFORMS, seed: 'verify-source'})
  const lastLayer = index.children.at(-1)!.layers.at(-1)!

  /** verifySource, then the copy, as apply does for a layout source. */
  const copyChecked = async (engine: CopyEngine, route: Route) => {
    const top = await route.source.getManifest(index.digest)
    await engine.verifySource(route.source, top)
    await engine.ensureManifest(route, index.digest, top)
  }

  test('an intact tree is read once: every child manifest and blob, then no call on a second look', async () => {
    const {memory, source, target} = await stores((s) => seedIndex(s, index))
    const engine = new CopyEngine({transfers: 4, pace: testPace()})
    const top = await source.getManifest(index.digest)
    memory.clearLog()
    await engine.verifySource(source, top)
    await engine.verifySource(source, top)
    expect([memory.count('getManifest', source), memory.count('getBlob', source), memory.count('headManifest', target)]).toStrictEqual([2, 6, 0])
  })

  test('a blob missing deep in the tree fails the copy before the target is written or even asked', async () => {
    const {memory, source, target} = await stores((s) => seedIndex(s, index))
    memory.contents(SOURCE).blobs.delete(lastLayer.digest)
    const err = await copyChecked(new CopyEngine({transfers: 4, pace: testPace()}), routeOf(source, target).route).then(
      () => null,
      (e: unknown) => e,
    )
    expect({error: err instanceof RegistryError, category: categoryOf(err)}).toStrictEqual({error: true, category: 'not-found'})
    expect(memory.calls.filter((c) => c.repository === target.name)).toStrictEqual([])
  })

  test('a child manifest whose bytes were changed fails the copy before the target is written', async () => {
    const {memory, source, target} = await stores((s) => seedIndex(s, index))
    const child = memory.contents(SOURCE).manifests.get(index.children[0]!.digest)!
    child.bytes = new TextEncoder().encode(new TextDecoder().decode(child.bytes).replace('"layers"', '"layers" '))
    const err = await rejectedWith(ContentError, copyChecked(new CopyEngine({transfers: 4, pace: testPace()}), routeOf(source, target).route))
    expect(err.code).toBe('DIGEST_MISMATCH')
    expect(memory.calls.filter((c) => c.repository === target.name)).toStrictEqual([])
  })
})

describe('a manifest PUT refused for references the target does not show', () => {
  test('the missing blob is found by HEAD, placed again, and the PUT retried (one backoff of at most 100 ms)', async () => {
    const image = makeImage({flavor: 'oci'})
    const layer = image.layers[1]!
    const {memory, source, target} = await stores((s) => seedImage(s, image))
    let vanished = false
    // Another writer rewriting the layer's link: it is not there when the PUT arrives, the first time.
    memory.fault = (call) => {
      if (call.method !== 'putManifest' || call.repository !== target.name || vanished) return
      vanished = true
      memory.contents(TARGET).blobs.delete(layer.digest)
    }
    await new CopyEngine({transfers: 4, pace: testPace()}).ensureManifest(routeOf(source, target).route, image.digest)
    expect((await target.headManifest(image.digest))?.digest).toBe(image.digest)
    expect([
      memory.count('putManifest', target),
      callsAbout(memory, 'putBlob', target, layer.digest),
      callsAbout(memory, 'getBlob', source, layer.digest),
    ]).toStrictEqual([2, 2, 2])
    // Only what was missing moved again.
    expect(callsAbout(memory, 'putBlob', target, image.layers[0]!.digest)).toBe(1)
  })

  test('a refusal for another reason is not retried', async () => {
    const image = makeImage({flavor: 'oci'})
    const {memory, source, target} = await stores((s) => seedImage(s, image))
    memory.fault = (call) => {
      if (call.method === 'putManifest')
        throw new RegistryError({method: 'PUT', url: 'memory://target.test/v2/mirror/app/manifests/x', status: 403, diagnostics: [{code: 'DENIED'}]})
    }
    const err = await rejectedWith(RegistryError, new CopyEngine({transfers: 4, pace: testPace()}).ensureManifest(routeOf(source, target).route, image.digest))
    expect([err.status, memory.count('putManifest', target)]).toStrictEqual([403, 1])
  })
})
