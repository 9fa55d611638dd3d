/**
 * One suite of RepositoryHandle behaviour (src/registry/handle.ts), run over every store: the in-memory store of
 * the unit tests (test/support/memory-store.ts), the registry store against the in-process fake registry (with
 * the referrers API) and against a real docker-registry (2.8, without it), and the layout store in a temp dir.
 * What the memory store promises is then what the real stores do, and the engine's unit tests over it hold for them.
 *
 * Where stores legitimately differ, each declares how (Capabilities) and the suite checks the declared
 * behaviour: nothing is skipped.
 */
import {testPace} from '../support/pace.ts'
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {join} from 'node:path'
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {categoryOf, type ErrorCategory} from '../../src/ref/errors.ts'
import {ContentError} from '../../src/registry/errors.ts'
import type {RepositoryHandle} from '../../src/registry/handle.ts'
import {LayoutRepository} from '../../src/registry/layout/repository.ts'
import {referrerDescriptor} from '../../src/registry/referrer-manifests.ts'
import {parseManifest} from '../../src/oci/manifest.ts'
import {pushReferrer} from '../../src/signatures/copy.ts'
import {rejectedWith} from '../support/errors.ts'
import {startFakeRegistry} from '../support/fake-registry/index.ts'
import {blobSource, seedImage, seedIndex} from '../support/handle-seed.ts'
import {makeImage, makeIndex, pseudoRandomBytes} from '../support/images.ts'
import {makeReferrer, readAll, tempDir} from '../support/layout.ts'
import {MemoryStores} from '../support/memory-store.ts'
import {startRealRegistry} from '../support/real-registry.ts'
import {loopbackClient} from './signature-fixtures.ts'

setDefaultTimeout(20_000)

/** How a store may legitimately differ from another. */
interface Capabilities {
  /** What the error category of each refusal is (a layout's are about files, a registry's about its answers). */
  /** How a store refuses what it cannot take; absence is `not-found` in every store (checked below, not declared). */
  refusals: Record<'missing-references' | 'wrong-bytes', ErrorCategory>
  /** `ignored`: distribution 2.8 stores whatever If-Match / If-None-Match say. */
  conditionalPuts: 'honoured' | 'ignored'
  /** A plain PUT of other content at a tag: a registry moves the tag, a layout never does unasked. */
  tagOverwrite: 'moves' | 'refused'
  /** `supported`: the store indexes referrers itself; `unsupported`: the fallback tag lists them. */
  referrersApi: 'supported' | 'unsupported'
  /** A read told the descriptor's size: a layout refuses another size before streaming, a registry streams all. */
  sizedRead: 'refused' | 'streamed'
}

interface StoreUnderTest {
  /** A repository of the store; the suite names a new one per test. */
  repository(name: string): RepositoryHandle
  stop(): Promise<void>
}

const REGISTRY: Capabilities = {
  refusals: {'missing-references': 'registry', 'wrong-bytes': 'registry'},
  conditionalPuts: 'honoured',
  tagOverwrite: 'moves',
  referrersApi: 'supported',
  sizedRead: 'streamed',
}

const STORES: [string, Capabilities, () => Promise<StoreUnderTest>][] = [
  [
    'the memory store',
    REGISTRY,
    async () => {
      const stores = new MemoryStores()
      return {repository: (name) => stores.repository({registry: 'memory.test', repository: name}), stop: async () => {}}
    },
  ],
  [
    'the registry store on the fake registry (referrers API)',
    REGISTRY,
    async () => {
      const fake = await startFakeRegistry({referrers: 'api'})
      const client = loopbackClient()
      return {repository: (name) => client.repository({registry: fake.host, repository: name}), stop: () => fake.stop()}
    },
  ],
  [
    'the registry store on docker-registry 2.8',
    {...REGISTRY, conditionalPuts: 'ignored', referrersApi: 'unsupported'},
    async () => {
      const real = await startRealRegistry()
      const client = loopbackClient()
      return {repository: (name) => client.repository({registry: real.host, repository: name}), stop: () => real.stop()}
    },
  ],
  [
    'the layout store',
    {
      refusals: {'missing-references': 'input', 'wrong-bytes': 'content'},
      conditionalPuts: 'honoured',
      tagOverwrite: 'refused',
      referrersApi: 'supported',
      sizedRead: 'refused',
    },
    async () => {
      const {dir, cleanup} = await tempDir('conformance')
      return {repository: (name) => new LayoutRepository(join(dir, name), 'target', {pace: testPace()}), stop: cleanup}
    },
  ],
]

for (const [kind, can, start] of STORES) conformance(kind, can, start)

/** The category of what `promise` rejects with; a rejection that is no deliberate error fails the test. */
async function refusalOf(promise: Promise<unknown>): Promise<ErrorCategory> {
  const err = await promise.then(
    () => new Error('resolved, want a refusal'),
    (e: unknown) => e,
  )
  const category = categoryOf(err)
  if (category === null) throw err
  return category
}

function conformance(kind: string, can: Capabilities, start: () => Promise<StoreUnderTest>): void {
  describe(`RepositoryHandle conformance: ${kind}`, () => {
    let store: StoreUnderTest
    let seq = 0
    const fresh = () => store.repository(`conformance/r${++seq}`)
    beforeAll(async () => {
      store = await start()
    })
    afterAll(() => store?.stop())

    test('a manifest is found by tag and by digest, with its bytes, media type and size', async () => {
      const repo = fresh()
      const image = makeImage({flavor: 'oci'})
      await seedImage(repo, image, 'v1')
      const head = {digest: image.digest, mediaType: MediaType.OciManifest, size: image.bytes.byteLength}
      expect(await repo.headManifest('v1')).toStrictEqual(head)
      expect(await repo.headManifest(image.digest)).toStrictEqual(head)
      const byTag = await repo.getManifest('v1')
      expect({digest: byTag.digest, size: byTag.size, bytes: byTag.bytes, kind: byTag.parsed.kind}).toStrictEqual({
        digest: image.digest,
        size: head.size,
        bytes: image.bytes,
        kind: 'image',
      })
      expect((await repo.getManifest(image.digest)).bytes).toStrictEqual(image.bytes)
      expect((await repo.getManifestBytesIfPresent('v1'))?.bytes).toStrictEqual(image.bytes)
      const present = await repo.getManifestIfPresent('v1')
      expect({digest: present?.digest, etag: typeof present?.etag}).toStrictEqual({digest: image.digest, etag: 'string'})
    })

    test('an index and its children: the children are found by digest, the index parses as one', async () => {
      const repo = fresh()
      const index = makeIndex({
        flavor: 'oci',
        platforms: [
          {os: 'linux', architecture: 'amd64'},
          {os: 'linux', architecture: 'arm64'},
        ],
      })
      await seedIndex(repo, index, 'multi')
      expect((await repo.getManifest('multi')).parsed.kind).toBe('index')
      for (const child of index.children) expect((await repo.headManifest(child.digest))?.size).toBe(child.bytes.byteLength)
    })

    test('an absent manifest: null from head and the IfPresent reads, a not-found error from get, whichever store answered', async () => {
      const repo = fresh()
      await seedImage(repo, makeImage({flavor: 'oci', layers: 0}), 'other')
      const absent = sha256Digest('absent')
      for (const reference of ['missing', absent]) {
        expect(await repo.headManifest(reference)).toBeNull()
        expect(await repo.getManifestIfPresent(reference)).toBeNull()
        expect(await repo.getManifestBytesIfPresent(reference)).toBeNull()
        expect(await refusalOf(repo.getManifest(reference))).toBe('not-found')
      }
    })

    test('a manifest whose blobs or children are not stored yet is refused, and stays absent', async () => {
      const repo = fresh()
      const image = makeImage({flavor: 'oci'})
      await repo.putBlob(blobSource(image.config))
      expect(await refusalOf(repo.putManifest(image.digest, image))).toBe(can.refusals['missing-references'])
      const index = makeIndex({flavor: 'oci', platforms: [{os: 'linux', architecture: 'amd64'}]})
      expect(await refusalOf(repo.putManifest(index.digest, index))).toBe(can.refusals['missing-references'])
      expect([await repo.headManifest(image.digest), await repo.headManifest(index.digest)]).toStrictEqual([null, null])
    })

    test('manifest bytes that do not hash to the digest they are put under are refused', async () => {
      const repo = fresh()
      const image = makeImage({flavor: 'oci', layers: 0})
      await repo.putBlob(blobSource(image.config))
      const other = makeImage({flavor: 'oci', layers: 0})
      expect(categoryOf(await repo.putManifest(image.digest, {...other, digest: image.digest}).catch((e: unknown) => e))).not.toBeNull()
      expect(await repo.headManifest(image.digest)).toBeNull()
    })

    test(`If-None-Match: * creates a tag once; at a taken tag it is ${can.conditionalPuts}`, async () => {
      const repo = fresh()
      const [first, second] = [makeImage({flavor: 'oci', layers: 0}), makeImage({flavor: 'oci', layers: 0})]
      await seedImage(repo, first)
      await seedImage(repo, second)
      expect((await repo.putManifest('1.0', first, {ifNoneMatch: '*'})).kind).toBe('stored')
      const again = await repo.putManifest('1.0', second, {ifNoneMatch: '*'})
      expect({kind: again.kind, now: (await repo.headManifest('1.0'))?.digest}).toStrictEqual(
        can.conditionalPuts === 'honoured' ? {kind: 'precondition-failed', now: first.digest} : {kind: 'stored', now: second.digest},
      )
    })

    test(`If-Match with the ETag read moves a tag; a stale ETag is ${can.conditionalPuts}`, async () => {
      const repo = fresh()
      const [a, b, c] = [makeImage({flavor: 'oci', layers: 0}), makeImage({flavor: 'oci', layers: 0}), makeImage({flavor: 'oci', layers: 0})]
      for (const image of [a, b, c]) await seedImage(repo, image)
      await repo.putManifest('sig', a)
      const read = await repo.getManifestIfPresent('sig')
      expect((await repo.putManifest('sig', b, {ifMatch: read!.etag})).kind).toBe('stored')
      expect((await repo.headManifest('sig'))?.digest).toBe(b.digest)
      const stale = await repo.putManifest('sig', c, {ifMatch: read!.etag})
      expect({kind: stale.kind, now: (await repo.headManifest('sig'))?.digest}).toStrictEqual(
        can.conditionalPuts === 'honoured' ? {kind: 'precondition-failed', now: b.digest} : {kind: 'stored', now: c.digest},
      )
    })

    test(`a plain PUT of other content at a taken tag: the tag ${can.tagOverwrite === 'moves' ? 'moves' : 'is left alone'}`, async () => {
      const repo = fresh()
      const [a, b] = [makeImage({flavor: 'oci', layers: 0}), makeImage({flavor: 'oci', layers: 0})]
      await seedImage(repo, a, 'latest')
      await seedImage(repo, b)
      const put = await repo.putManifest('latest', b)
      expect({kind: put.kind, now: (await repo.headManifest('latest'))?.digest}).toStrictEqual(
        can.tagOverwrite === 'moves' ? {kind: 'stored', now: b.digest} : {kind: 'precondition-failed', now: a.digest},
      )
    })

    test('a blob is put, then found by head, get and a bounded small read; absent is null or the declared refusal', async () => {
      const repo = fresh()
      const bytes = pseudoRandomBytes(`blob-${kind}`, 3000)
      const blob = {bytes, digest: sha256Digest(bytes)}
      expect(await repo.headBlob(blob.digest)).toBeNull()
      expect(await repo.putBlob(blobSource(blob))).toBe('uploaded')
      expect(await repo.headBlob(blob.digest)).toBe(3000)
      expect(await readAll(await repo.getBlob(blob.digest, {size: 3000}))).toStrictEqual(bytes)
      expect(await repo.getSmallBlob(blob.digest, 3000)).toStrictEqual(bytes)
      expect((await rejectedWith(ContentError, repo.getSmallBlob(blob.digest, 2999))).code).toBe('BLOB_TOO_LARGE')
      expect(await refusalOf(repo.getBlob(sha256Digest('absent')))).toBe('not-found')
    })

    test(`a read told another size than the blob's is ${can.sizedRead === 'refused' ? 'refused before streaming' : 'streamed whole, for the reader to check'}`, async () => {
      const repo = fresh()
      const bytes = pseudoRandomBytes(`sized-${kind}`, 100)
      const digest = sha256Digest(bytes)
      await repo.putBlob(blobSource({bytes, digest}))
      const read = repo.getBlob(digest, {size: 99}).then(readAll)
      if (can.sizedRead === 'refused') expect(await refusalOf(read)).toBe('content')
      else expect(await read).toStrictEqual(bytes)
    })

    test('a blob whose bytes do not hash to its digest is refused and not stored', async () => {
      const repo = fresh()
      const bytes = pseudoRandomBytes(`wrong-${kind}`, 256)
      const digest = sha256Digest(bytes)
      const wrong = {...blobSource({bytes, digest}), open: async () => new Blob([new Uint8Array(256)]).stream()}
      expect(await refusalOf(repo.putBlob(wrong))).toBe(can.refusals['wrong-bytes'])
      expect(await repo.headBlob(digest)).toBeNull()
    })

    test('a mount from a repository of the same store that holds the blob reads nothing; one that lacks it uploads', async () => {
      const [from, to, empty] = [fresh(), fresh(), fresh()]
      const bytes = pseudoRandomBytes(`mount-${kind}`, 512)
      const blob = {bytes, digest: sha256Digest(bytes)}
      await from.putBlob(blobSource(blob))
      await empty.putBlob(blobSource({bytes: new Uint8Array([1]), digest: sha256Digest(new Uint8Array([1]))}))
      let opened = 0
      const counted = {
        ...blobSource(blob),
        open: async () => {
          opened++
          return new Blob([bytes]).stream()
        },
      }
      expect(await to.putBlob(counted, {mountFrom: from})).toBe('mounted')
      expect({opened, size: await to.headBlob(blob.digest)}).toStrictEqual({opened: 0, size: 512})
      const third = fresh()
      expect(await third.putBlob(counted, {mountFrom: empty})).toBe('uploaded')
      expect({opened, size: await third.headBlob(blob.digest)}).toStrictEqual({opened: 1, size: 512})
    })

    test('tags: none in a new repository; every tag, and no digest-only manifest, once there are some', async () => {
      const repo = fresh()
      expect(await repo.listTags()).toStrictEqual({kind: 'listed', tags: new Set()})
      const [a, b] = [makeImage({flavor: 'oci', layers: 0}), makeImage({flavor: 'oci', layers: 0})]
      await seedImage(repo, a, 'a')
      await repo.putManifest('b', a)
      await seedImage(repo, b)
      expect(await repo.listTags({extent: 'all'})).toStrictEqual({kind: 'listed', tags: new Set(['a', 'b'])})
    })

    test(`referrers are listed by subject (${can.referrersApi === 'supported' ? 'the store indexes them' : 'through the fallback tag'})`, async () => {
      const repo = fresh()
      const [subject, bystander] = [makeImage({flavor: 'oci'}), makeImage({flavor: 'oci', layers: 0})]
      await seedImage(repo, subject, 'v1')
      await seedImage(repo, bystander, 'v2')
      expect(await repo.listReferrers(subject.digest)).toStrictEqual({api: can.referrersApi, descriptors: []})
      const sbom = makeReferrer(subject, `sbom-${kind}`)
      // The put records the subject itself: the store indexes it, or the put adds the fallback entry (once).
      const indexed = can.referrersApi === 'supported'
      expect(
        (
          await pushReferrer(
            repo,
            sbom.bytes,
            sbom.blobs.map((b) => b.bytes),
          )
        ).referrer,
      ).toBe(indexed ? 'indexed' : 'added')
      expect(await repo.putManifest(sbom.digest, sbom)).toStrictEqual({kind: 'stored', referrer: indexed ? 'indexed' : 'present'})
      const descriptor = referrerDescriptor({...sbom, size: sbom.bytes.byteLength, parsed: parseManifest(sbom.bytes, sbom.mediaType)})
      expect(await repo.listReferrers(subject.digest)).toStrictEqual({api: can.referrersApi, descriptors: [descriptor]})
      expect(await repo.listReferrers(bystander.digest)).toStrictEqual({api: can.referrersApi, descriptors: []})
    })
  })
}
