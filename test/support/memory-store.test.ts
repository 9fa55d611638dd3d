/**
 * What the memory store adds to the handle contract (which test/integration/handle-conformance.test.ts checks
 * over it and the real stores): the call log, the fault hook, the registry's error codes the copy engine acts
 * on, and where a mount is possible.
 */
import {describe, expect, test} from 'bun:test'
import {MediaType} from '../../src/oci/media-types.ts'
import {ContentError} from '../../src/registry/errors.ts'
import {RegistryError} from '../../src/transport/errors.ts'
import {rejectedWith} from './errors.ts'
import {blobSource, seedImage} from './handle-seed.ts'
import {makeImage} from './images.ts'
import {makeReferrer} from './layout.ts'
import {MemoryStores} from './memory-store.ts'

const REPO = {registry: 'memory.test', repository: 'acme/app'}

describe('the memory store', () => {
  test('logs every call in order, counts them per method and repository, and forgets them on clearLog', async () => {
    const stores = new MemoryStores()
    const [repo, other] = [stores.repository(REPO), stores.repository({...REPO, repository: 'acme/other'})]
    const image = makeImage({flavor: 'oci', layers: 1})
    await seedImage(repo, image, 'v1')
    await other.headManifest('v1')
    expect(stores.calls.map((c) => `${c.method} ${c.repository} ${c.reference}`)).toStrictEqual([
      `putBlob memory.test/acme/app ${image.config.digest}`,
      `putBlob memory.test/acme/app ${image.layers[0]!.digest}`,
      'putManifest memory.test/acme/app v1',
      'headManifest memory.test/acme/other v1',
    ])
    expect([stores.count('putBlob'), stores.count('putBlob', other), stores.count('headManifest', 'memory.test/acme/other')]).toStrictEqual([2, 0, 1])
    stores.clearLog()
    expect(stores.calls).toStrictEqual([])
  })

  test("the fault hook runs before a call is served: what it throws is the call's failure, and the call is logged", async () => {
    const stores = new MemoryStores()
    const repo = stores.repository(REPO)
    const image = makeImage({flavor: 'oci', layers: 0})
    const refusal = new RegistryError({method: 'HEAD', url: 'memory://memory.test/v2/acme/app/blobs/x', status: 503})
    stores.fault = (call) => {
      if (call.method === 'headBlob') throw refusal
    }
    expect(await rejectedWith(RegistryError, repo.headBlob(image.config.digest))).toBe(refusal)
    expect(await repo.putBlob(blobSource(image.config))).toBe('uploaded')
    expect(stores.count('headBlob')).toBe(1)
  })

  test('a manifest PUT before its blobs is refused with one MANIFEST_BLOB_UNKNOWN per missing digest, as distribution does', async () => {
    const repo = new MemoryStores().repository(REPO)
    const image = makeImage({flavor: 'oci', layers: 2})
    await repo.putBlob(blobSource(image.layers[0]!))
    const err = await rejectedWith(RegistryError, repo.putManifest(image.digest, image))
    expect({status: err.status, codes: err.diagnostics.map((d) => [d.code, d.detail])}).toStrictEqual({
      status: 400,
      codes: [
        ['MANIFEST_BLOB_UNKNOWN', image.config.digest],
        ['MANIFEST_BLOB_UNKNOWN', image.layers[1]!.digest],
      ],
    })
  })

  test('a referrer is indexed by its PUT alone, which says so', async () => {
    const repo = new MemoryStores().repository(REPO)
    const subject = makeImage({flavor: 'oci'})
    const sbom = makeReferrer(subject, 'memory')
    for (const blob of sbom.blobs) await repo.putBlob(blobSource(blob))
    expect(await repo.putManifest(sbom.digest, sbom)).toStrictEqual({kind: 'stored', referrer: 'indexed'})
    expect((await repo.listReferrers(subject.digest)).descriptors.map((d) => d.digest)).toStrictEqual([sbom.digest])
    for (const blob of [subject.config, ...subject.layers]) await repo.putBlob(blobSource(blob))
    expect(await repo.putManifest(subject.digest, subject)).toStrictEqual({kind: 'stored', referrer: null})
  })

  test('a mount is made between repositories of one registry of one store only; elsewhere the blob is uploaded', async () => {
    const stores = new MemoryStores()
    const image = makeImage({flavor: 'oci', layers: 0})
    const from = stores.repository(REPO)
    await from.putBlob(blobSource(image.config))
    const stranger = new MemoryStores().repository({...REPO, repository: 'acme/copy'})
    const [sameRegistry, otherRegistry] = [
      stores.repository({...REPO, repository: 'acme/copy'}),
      stores.repository({registry: 'elsewhere.test', repository: 'acme/copy'}),
    ]
    expect(await Promise.all([sameRegistry, otherRegistry, stranger].map((to) => to.putBlob(blobSource(image.config), {mountFrom: from})))).toStrictEqual([
      'mounted',
      'uploaded',
      'uploaded',
    ])
  })

  test('stored bytes changed behind its back are refused on read, as the registry store refuses them', async () => {
    const stores = new MemoryStores()
    const repo = stores.repository(REPO)
    const image = makeImage({flavor: 'oci', layers: 0})
    await seedImage(repo, image, 'v1')
    stores.contents(REPO).manifests.get(image.digest)!.bytes = new TextEncoder().encode(`${new TextDecoder().decode(image.bytes)} `)
    expect((await rejectedWith(ContentError, repo.getManifest('v1'))).code).toBe('DIGEST_MISMATCH')
    expect(await repo.headManifest('v1')).toStrictEqual({digest: image.digest, mediaType: MediaType.OciManifest, size: image.bytes.byteLength + 1})
  })

  test('getManifestIfPresent with an accept list that lacks the type answers absent', async () => {
    const repo = new MemoryStores().repository(REPO)
    const image = makeImage({flavor: 'oci', layers: 0})
    await seedImage(repo, image, 'v1')
    expect(await repo.getManifestIfPresent('v1', {accept: MediaType.OciIndex})).toBeNull()
    expect((await repo.getManifestIfPresent('v1', {accept: `${MediaType.OciIndex}, ${MediaType.OciManifest}`}))?.etag).toBe(`"${image.digest}"`)
  })
})
