/**
 * src/registry/remote/referrers.ts and remote/fallback-index.ts against three registries: the fake with the
 * referrers API, the fake without it, and the real docker-registry (distribution 2.8.2), which has no referrers
 * API. What 2.8 does, as measured here:
 *   - `GET /v2/<name>/referrers/<digest>` is an unknown route: 404, `text/plain`, body `404 page not found`,
 *     whatever the repository or digest (so the client falls back to the `sha256-<hex>` tag);
 *   - a manifest with `subject` is accepted (201) and stored byte for byte, even when the subject does not
 *     exist, but the answer has no `OCI-Subject` header: the client must maintain the fallback index;
 *   - manifest GETs send `ETag: "<digest>"`, but a PUT's `If-Match` is ignored (a stale one still gives 201);
 *   - an index whose entries are missing is refused (MANIFEST_BLOB_UNKNOWN), so a fallback index can only list
 *     referrers that were pushed first.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {MediaType} from '../../src/oci/media-types.ts'
import {fallbackTag, readFallbackIndex, updateFallbackIndex} from '../../src/registry/remote/fallback-index.ts'
import {putReferrer, ReferrersError} from '../../src/registry/referrer-manifests.ts'
import {referrersApiSupported} from '../../src/registry/remote/referrers.ts'
import type {RegistryClient} from '../../src/registry/client.ts'
import type {Repository} from '../../src/registry/handle.ts'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {getManifest, makeImage, pushBlob, pushImage} from '../support/images.ts'
import {startRealRegistry} from '../support/real-registry.ts'
import {asFetched, type Built, bundleReferrer, descriptorOf, fallbackIndex, fallbackTagOf, loopbackClient, push, sbomReferrer} from './signature-fixtures.ts'

setDefaultTimeout(20_000)

interface Started {
  url: string
  host: string
  fake: FakeRegistry | null
  api: boolean
  stop(): Promise<void>
}

const KINDS: [string, () => Promise<Started>][] = [
  [
    'fake registry with the referrers API',
    async () => {
      const fake = await startFakeRegistry({referrers: 'api'})
      return {url: fake.url, host: fake.host, fake, api: true, stop: () => fake.stop()}
    },
  ],
  [
    'fake registry without the referrers API',
    async () => {
      const fake = await startFakeRegistry()
      return {url: fake.url, host: fake.host, fake, api: false, stop: () => fake.stop()}
    },
  ],
  [
    'real docker-registry 2.8',
    async () => {
      const real = await startRealRegistry()
      return {url: real.url, host: real.host, fake: null, api: false, stop: () => real.stop()}
    },
  ],
]

/** The pushed manifest's descriptor as the library builds it, for comparison with listings. */
function expectedDescriptor(content: Built, artifactType: string, annotations?: Record<string, string>) {
  return descriptorOf(content, {artifactType, ...(annotations ? {annotations} : {})})
}

for (const [kind, start] of KINDS) {
  describe(kind, () => {
    let registry: Started
    let client: RegistryClient
    let seq = 0
    /** A fresh repository with a fresh subject image, per test. */
    const fresh = async () => {
      const repo: Repository = {registry: registry.host, repository: `refs/t${++seq}`}
      const image = makeImage({flavor: 'oci'})
      await pushImage(registry.url, repo.repository, image, 'v1')
      return {repo, image}
    }

    beforeAll(async () => {
      registry = await start()
      client = loopbackClient()
    })
    afterAll(() => registry?.stop())

    test('no referrers: an empty list, and the API answer says whether the registry has one', async () => {
      const {repo, image} = await fresh()
      expect(await client.repository(repo).listReferrers(image.digest)).toStrictEqual({api: registry.api ? 'supported' : 'unsupported', descriptors: []})
      expect(await referrersApiSupported(client.repository(repo))).toBe(registry.api)
    })

    test('the referrers path without the API is a plain-text 404', async () => {
      const {repo, image} = await fresh()
      const response = await fetch(`${registry.url}/v2/${repo.repository}/referrers/${image.digest}`)
      const body = await response.text()
      if (registry.api) {
        expect(response.status).toBe(200)
        expect(response.headers.get('content-type')).toBe(MediaType.OciIndex)
      } else {
        expect([response.status, response.headers.get('content-type'), body]).toStrictEqual([404, 'text/plain; charset=utf-8', '404 page not found\n'])
      }
    })

    test('putReferrer stores by digest, and the referrer is listed; the fallback index only where needed', async () => {
      const {repo, image} = await fresh()
      const bundle = bundleReferrer(image, 'one')
      await pushBlobsOnly(registry.url, repo.repository, bundle)
      const pushed = await putReferrer(client.repository(repo), asFetched(bundle))
      expect(pushed).toBe(registry.api ? 'indexed' : 'added')
      const listed = await client.repository(repo).listReferrers(image.digest)
      const annotations = JSON.parse(new TextDecoder().decode(bundle.bytes)).annotations
      expect(listed.descriptors).toStrictEqual([expectedDescriptor(bundle, 'application/vnd.dev.sigstore.bundle.v0.3+json', annotations)] as never)
      const tag = await getManifest(registry.url, repo.repository, fallbackTagOf(image.digest))
      expect(tag.status).toBe(registry.api ? 404 : 200)
    })

    test('a manifest put records its subject: a fallback entry only without the API, once; none without a subject', async () => {
      const {repo, image} = await fresh()
      const handle = client.repository(repo)
      const sbom = sbomReferrer(image)
      await pushBlobsOnly(registry.url, repo.repository, sbom)
      // Bytes only, as a caller that never parsed them gives them: the store reads the subject itself.
      const bytes = {bytes: sbom.bytes, mediaType: sbom.mediaType, digest: sbom.digest}
      expect(await handle.putManifest(sbom.digest, bytes)).toStrictEqual({kind: 'stored', referrer: registry.api ? 'indexed' : 'added'})
      const index = await readFallbackIndex(handle, image.digest)
      expect(index?.index.manifests ?? null).toStrictEqual(registry.api ? null : ([expectedDescriptor(sbom, 'application/spdx+json')] as never))
      // The same manifest under a tag: the entry is there already, so the index is not written again.
      if (registry.fake) registry.fake.clearLog()
      expect(await handle.putManifest('sbom', bytes)).toStrictEqual({kind: 'stored', referrer: registry.api ? 'indexed' : 'present'})
      if (registry.fake) expect(registry.fake.count('PUT', `/v2/${repo.repository}/manifests/${fallbackTagOf(image.digest)}`)).toBe(0)
      expect((await handle.listReferrers(image.digest)).descriptors.map((d) => d.digest)).toStrictEqual([sbom.digest])
      // The subject image itself has none: nothing recorded, and no fallback tag for it appears.
      expect(await handle.putManifest('v2', image)).toStrictEqual({kind: 'stored', referrer: null})
      expect((await getManifest(registry.url, repo.repository, fallbackTagOf(sbom.digest))).status).toBe(404)
    })

    test('the fallback index keeps what other tools put there and is written once per referrer', async () => {
      const {repo, image} = await fresh()
      const other = sbomReferrer(image)
      await push(registry.url, repo.repository, other)
      const foreign = descriptorOf(other, {artifactType: 'application/spdx+json', annotations: {'written.by': 'another tool'}})
      await push(registry.url, repo.repository, fallbackIndex([foreign]), fallbackTagOf(image.digest))
      const bundle = bundleReferrer(image, 'two')
      await push(registry.url, repo.repository, bundle)
      const fetched = await client.repository(repo).getManifest(bundle.digest)
      expect(
        await updateFallbackIndex(client.repository(repo), image.digest, {
          mediaType: fetched.mediaType,
          digest: fetched.digest,
          size: fetched.size,
          artifactType: 'x/y',
        }),
      ).toBe('added')
      expect(
        await updateFallbackIndex(client.repository(repo), image.digest, {
          mediaType: fetched.mediaType,
          digest: fetched.digest,
          size: fetched.size,
          artifactType: 'x/y',
        }),
      ).toBe('present')
      const index = await readFallbackIndex(client.repository(repo), image.digest)
      expect(index?.index.manifests.map((d) => d.digest)).toStrictEqual([other.digest, bundle.digest])
      expect(index?.index.manifests[0]).toStrictEqual(foreign as never)
      expect(index?.etag).toBe(`"${index?.digest}"`)
    })

    test('an image manifest under sha256-<hex> is no referrers index: listed as nothing, never overwritten', async () => {
      const {repo, image} = await fresh()
      // What `cosign copy` does: the image itself under the fallback tag.
      await pushImage(registry.url, repo.repository, image, fallbackTag(image.digest))
      if (!registry.api) expect((await client.repository(repo).listReferrers(image.digest)).descriptors).toStrictEqual([])
      const error = await updateFallbackIndex(client.repository(repo), image.digest, {mediaType: MediaType.OciManifest, digest: image.digest, size: 1}).catch(
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(ReferrersError)
      expect((error as ReferrersError).code).toBe('FALLBACK_TAG_CONFLICT')
      expect((await getManifest(registry.url, repo.repository, fallbackTag(image.digest))).digest).toBe(image.digest)
    })

    test('a manifest with a subject is accepted; OCI-Subject only from a registry with the API', async () => {
      const {repo, image} = await fresh()
      const bundle = bundleReferrer(image, 'three')
      await pushBlobsOnly(registry.url, repo.repository, bundle)
      const response = await fetch(`${registry.url}/v2/${repo.repository}/manifests/${bundle.digest}`, {
        method: 'PUT',
        body: bundle.bytes,
        headers: {'content-type': bundle.mediaType},
      })
      expect(response.status).toBe(201)
      expect(response.headers.get('oci-subject')).toBe(registry.api ? image.digest : null)
      const back = await getManifest(registry.url, repo.repository, bundle.digest)
      expect(back.bytes).toStrictEqual(bundle.bytes)
    })

    test('If-Match: the fake refuses a stale ETag with 412, docker-registry 2.8 ignores it', async () => {
      const {repo, image} = await fresh()
      const response = await fetch(`${registry.url}/v2/${repo.repository}/manifests/v1`, {
        method: 'PUT',
        body: image.bytes,
        headers: {'content-type': image.mediaType, 'if-match': `"sha256:${'1'.repeat(64)}"`},
      })
      await response.arrayBuffer()
      expect(response.status).toBe(registry.fake ? 412 : 201)
      const matching = await fetch(`${registry.url}/v2/${repo.repository}/manifests/v1`, {
        method: 'PUT',
        body: image.bytes,
        headers: {'content-type': image.mediaType, 'if-match': `"${image.digest}"`},
      })
      await matching.arrayBuffer()
      expect(matching.status).toBe(201)
    })
  })
}

describe('fake registry referrers API details', () => {
  let fake: FakeRegistry
  beforeAll(async () => {
    fake = await startFakeRegistry({referrers: 'api', referrersPageSize: 2})
  })
  afterAll(() => fake?.stop())

  test('pages are followed through Link headers', async () => {
    const client = loopbackClient()
    const repo = {registry: fake.host, repository: 'paged'}
    const image = makeImage({flavor: 'oci'})
    await pushImage(fake.url, repo.repository, image, 'v1')
    const referrers = ['a', 'b', 'c', 'd', 'e'].map((seed) => bundleReferrer(image, seed))
    for (const r of referrers) await push(fake.url, repo.repository, r)
    fake.clearLog()
    const listed = await client.repository(repo).listReferrers(image.digest)
    expect(listed.api).toBe('supported')
    expect(listed.descriptors.map((d) => d.digest).sort()).toStrictEqual(referrers.map((r) => r.digest).sort())
    expect(fake.count('GET', `/v2/paged/referrers/${image.digest}`)).toBe(3)
  })

  test('artifactType filter is applied and announced', async () => {
    const image = makeImage({flavor: 'oci'})
    await pushImage(fake.url, 'filtered', image, 'v1')
    await push(fake.url, 'filtered', bundleReferrer(image, 'f'))
    await push(fake.url, 'filtered', sbomReferrer(image))
    const response = await fetch(`${fake.url}/v2/filtered/referrers/${image.digest}?artifactType=application/spdx%2Bjson`)
    expect(response.headers.get('oci-filters-applied')).toBe('artifactType')
    const body = (await response.json()) as {manifests: {artifactType: string}[]}
    expect(body.manifests.map((d) => d.artifactType)).toStrictEqual(['application/spdx+json'])
  })

  test('the API ping is cached per registry', async () => {
    const client = loopbackClient()
    fake.clearLog()
    const repo = {registry: fake.host, repository: 'ping'}
    expect(await referrersApiSupported(client.repository(repo))).toBe(true)
    expect(await referrersApiSupported(client.repository({...repo, repository: 'other'}))).toBe(true)
    expect(fake.count('GET', /\/referrers\//)).toBe(1)
  })

  test("a 412 on the fallback index makes the writer read again and keep the other writer's entry", async () => {
    const none = await startFakeRegistry()
    try {
      const client = loopbackClient()
      const repo = {registry: none.host, repository: 'race'}
      const image = makeImage({flavor: 'oci'})
      await pushImage(none.url, repo.repository, image, 'v1')
      const ours = bundleReferrer(image, 'ours')
      const theirs = sbomReferrer(image)
      await push(none.url, repo.repository, ours)
      await push(none.url, repo.repository, theirs)
      const tag = fallbackTagOf(image.digest)
      await push(none.url, repo.repository, fallbackIndex([]), tag)
      // Another writer lands between our read and our write.
      none.addFault({
        method: 'PUT',
        path: `/v2/race/manifests/${tag}`,
        action: (_ctx, next) => {
          const index = fallbackIndex([descriptorOf(theirs, {artifactType: 'application/spdx+json'})])
          none.putManifest('race', tag, index.bytes, index.mediaType)
          return next()
        },
      })
      const fetched = await client.repository(repo).getManifest(ours.digest)
      none.clearLog()
      expect(await updateFallbackIndex(client.repository(repo), image.digest, {mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.size})).toBe(
        'added',
      )
      expect(none.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(tag)).map((r) => r.status)).toStrictEqual([412, 201])
      const index = await readFallbackIndex(client.repository(repo), image.digest)
      expect(index?.index.manifests.map((d) => d.digest)).toStrictEqual([theirs.digest, ours.digest])
    } finally {
      await none.stop()
    }
  })

  test('OCI-Subject from a registry without the API (as ECR answers) still gets the put a fallback entry', async () => {
    const none = await startFakeRegistry()
    try {
      const client = loopbackClient()
      const repo = {registry: none.host, repository: 'ecr'}
      const image = makeImage({flavor: 'oci'})
      await pushImage(none.url, repo.repository, image, 'v1')
      const bundle = bundleReferrer(image, 'ecr')
      await pushBlobsOnly(none.url, repo.repository, bundle)
      const ecr = none.addFault({
        method: 'PUT',
        path: `/v2/ecr/manifests/${bundle.digest}`,
        action: async (_ctx, next) => {
          const answer = await next()
          const headers = new Headers(answer.headers)
          headers.set('OCI-Subject', image.digest)
          return new Response(answer.body, {status: answer.status, headers})
        },
      })
      expect(await client.repository(repo).putManifest(bundle.digest, asFetched(bundle))).toStrictEqual({kind: 'stored', referrer: 'added'})
      expect(ecr.hits).toBe(1)
      expect((await readFallbackIndex(client.repository(repo), image.digest))?.index.manifests.map((d) => d.digest)).toStrictEqual([bundle.digest])
    } finally {
      await none.stop()
    }
  })
})

async function pushBlobsOnly(url: string, repo: string, content: Built): Promise<void> {
  for (const b of content.blobs) await pushBlob(url, repo, b)
}
