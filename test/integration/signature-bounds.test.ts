/**
 * Signature discovery at scale, counted at the registry: cosign's legacy tags come from one paginated tag list
 * per repository (not a HEAD per suffix and digest), "no referrers API" is learned once per registry and client,
 * and what a hostile registry can make us hold is bounded in total: a referrers listing beyond MAX_REFERRERS and
 * signature layers beyond MAX_SIGNATURE_BYTES_TOTAL are refused with one sentence, before they are fetched.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {MediaType} from '../../src/oci/media-types.ts'
import {type Digest, sha256Digest} from '../../src/ref/digest.ts'
import {MAX_REFERRERS, ReferrersError} from '../../src/registry/referrer-manifests.ts'
import {respondWith} from '../support/fake-registry/index.ts'
import {candidatesOf, discoverArtifacts, legacyTag, MAX_SIGNATURE_BYTES_TOTAL} from '../../src/signatures/discover.ts'
import {SignatureError} from '../../src/signatures/trust.ts'
import {makeImage, pseudoRandomBytes, pushImage} from '../support/images.ts'
import {blob, legacyImage, loopbackClient, push, sigLayer, simpleSigningPayload} from './signature-fixtures.ts'
import {cleanUpAfterEach, fake, planFor} from './apply-helpers.ts'

setDefaultTimeout(60_000)
cleanUpAfterEach()

const REPO = 'team/app'

describe('legacy tags from one tag list per repository', () => {
  test('a .sig on the third page of a paginated tag list is found; no HEAD for absent suffixes; listed once', async () => {
    // Docker Hub answers at most 100 tags per page whatever `n` asks.
    const registry = await fake({tagsPageSize: 100})
    const image = makeImage({flavor: 'oci'})
    await pushImage(registry.url, REPO, image, 'latest')
    for (let i = 0; i < 250; i++) registry.putManifest(REPO, `t${String(i).padStart(3, '0')}`, image.bytes, image.mediaType)
    const sig = legacyImage([sigLayer(simpleSigningPayload(REPO, image.digest), 'MEUCIQ')])
    // `sha256-…` sorts after `t…`: the tag is on the last page.
    await push(registry.url, REPO, sig, legacyTag(image.digest, 'sig'))
    const other = makeImage({flavor: 'oci'})
    await pushImage(registry.url, REPO, other, 'other')
    registry.clearLog()

    const client = loopbackClient()
    const repo = {registry: registry.host, repository: REPO}
    const artifacts = await discoverArtifacts(client.repository(repo), image.digest)
    expect(artifacts.map((a) => (a.kind === 'legacy-tag' ? a.tag : a.kind))).toEqual([legacyTag(image.digest, 'sig')])
    expect(await discoverArtifacts(client.repository(repo), other.digest)).toEqual([])

    expect(registry.count('GET', `/v2/${REPO}/tags/list`)).toBe(3)
    expect(registry.count('HEAD', /\/manifests\//)).toBe(1)
    // The registry has no referrers API: asked once for both digests, and no fallback tag GET (none listed).
    expect(registry.count('GET', /\/referrers\//)).toBe(1)
    expect(registry.count('GET', /\/manifests\/sha256-/)).toBe(0)
  })

  test('a tag this client writes drops its cached list, so a signature it just pushed is found', async () => {
    const registry = await fake()
    const image = makeImage({flavor: 'oci'})
    await pushImage(registry.url, REPO, image, 'latest')
    const client = loopbackClient()
    const repo = {registry: registry.host, repository: REPO}
    expect(await discoverArtifacts(client.repository(repo), image.digest)).toEqual([])
    const sig = legacyImage([sigLayer(simpleSigningPayload(REPO, image.digest), 'MEUCIQ')])
    for (const b of sig.blobs) registry.putBlob(REPO, b.bytes)
    await client.repository(repo).putManifest(legacyTag(image.digest, 'sig'), sig)
    expect((await discoverArtifacts(client.repository(repo), image.digest)).map((a) => a.manifest.digest)).toEqual([sig.digest])
  })
  test('a registry that refuses to list tags is asked per tag, with HEADs only: no pull for an absent fallback tag', async () => {
    const registry = await fake()
    registry.addFault(respondWith(403, {method: 'GET', path: /\/tags\/list$/, times: Infinity}))
    const image = makeImage({flavor: 'oci'})
    await pushImage(registry.url, REPO, image, 'latest')
    registry.clearLog()
    expect(await discoverArtifacts(loopbackClient().repository({registry: registry.host, repository: REPO}), image.digest)).toEqual([])
    // .sig, .att, .sbom and the referrers fallback tag.
    expect(registry.count('HEAD', /\/manifests\//)).toBe(4)
    expect(registry.count('GET', /\/manifests\//)).toBe(0)
  })
})

describe('what a hostile registry can make us hold is bounded in total', () => {
  test(`100,000 referrers over 20 pages are refused after the first page, none fetched (MAX_REFERRERS ${MAX_REFERRERS})`, async () => {
    const registry = await fake({referrers: 'api'})
    const pages = 20
    const perPage = 5000
    registry.addFault({
      name: 'endless referrers',
      method: 'GET',
      path: /\/referrers\//,
      times: Infinity,
      action: (ctx) => {
        const page = Number(ctx.query.get('page') ?? '0')
        const manifests = Array.from({length: perPage}, (_, i) => ({
          mediaType: MediaType.OciManifest,
          digest: sha256Digest(new TextEncoder().encode(`${page}/${i}`)),
          size: 100,
          artifactType: 'application/example',
        }))
        const headers = new Headers({'content-type': MediaType.OciIndex})
        if (page + 1 < pages) headers.set('link', `<${ctx.path}?page=${page + 1}>; rel="next"`)
        return new Response(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests}), {headers})
      },
    })
    const image = makeImage({flavor: 'oci'})
    await pushImage(registry.url, REPO, image, 'latest')
    registry.clearLog()

    const failure = await discoverArtifacts(loopbackClient().repository({registry: registry.host, repository: REPO}), image.digest).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(ReferrersError)
    expect((failure as ReferrersError).code).toBe('TOO_MANY_REFERRERS')
    expect((failure as Error).message).toBe(
      `${registry.host}/${REPO}: ${image.digest} has more than ${MAX_REFERRERS} referrers, the most image-syncer reads for one digest`,
    )
    // The API probe and the first page of this digest; no manifest of a referrer.
    expect(registry.count('GET', /\/referrers\//)).toBe(2)
    expect(registry.count('GET', /\/manifests\/sha256:/)).toBe(0)
  })

  test(`a .sig of 100 layers of 1 MiB (over the ${MAX_SIGNATURE_BYTES_TOTAL / 2 ** 20} MiB total) is refused before a layer is read`, async () => {
    const registry = await fake()
    const image = makeImage({flavor: 'oci'})
    await pushImage(registry.url, REPO, image, 'latest')
    const big = blob(pseudoRandomBytes('big layer', 2 ** 20), 'application/vnd.dev.cosign.simplesigning.v1+json')
    const sig = legacyImage(Array.from({length: 100}, (_, i) => sigLayer(big, `sig-${i}`)))
    await push(registry.url, REPO, {...sig, blobs: [sig.blobs[0]!, big]}, legacyTag(image.digest, 'sig'))
    registry.clearLog()

    const client = loopbackClient()
    const repo = {registry: registry.host, repository: REPO}
    const artifacts = await discoverArtifacts(client.repository(repo), image.digest)
    const failure = await candidatesOf(client.repository(repo), artifacts).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(SignatureError)
    expect((failure as SignatureError).code).toBe('SIGNATURES_TOO_LARGE')
    expect(registry.count('GET', /\/blobs\//)).toBe(0)
  })

  test('plan reports such an entry as unclassified content instead of crashing or reading it all', async () => {
    const source = await fake()
    const target = await fake()
    const image = makeImage({flavor: 'oci'})
    await pushImage(source.url, REPO, image, '1')
    const big = blob(pseudoRandomBytes('big layer', 2 ** 20), 'application/vnd.dev.cosign.simplesigning.v1+json')
    const sig = legacyImage(Array.from({length: 100}, (_, i) => sigLayer(big, `sig-${i}`)))
    await push(source.url, REPO, {...sig, blobs: [sig.blobs[0]!, big]}, legacyTag(image.digest as Digest, 'sig'))
    const failure = await planFor(source, target, [`${REPO}:1`]).catch((err: unknown) => err as Error)
    expect(failure).toBeInstanceOf(Error)
    expect((failure as Error).message).toContain('"kind":"content"')
    expect((failure as Error).message).toContain('MiB in total')
  })
})
