/**
 * A registry that serves the referrers API may still hold referrers only in the fallback tag (Quay: a stale,
 * empty listing, quay/quay#6510): src/registry/remote/referrers.ts reads the tag too and merges, by digest. What it
 * costs in requests, where signature discovery already reads the tag list (legacy tags) and where it does not.
 */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {discoverArtifacts} from '../../src/signatures/discover.ts'
import {ociError} from '../support/fake-registry/errors.ts'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {bundleReferrer, descriptorOf, fallbackIndex, fallbackTagOf, loopbackClient, push} from './signature-fixtures.ts'

let fake: FakeRegistry
beforeAll(async () => {
  fake = await startFakeRegistry({referrers: 'api'})
})
afterAll(() => fake?.stop())

/** An image with one referrer the API lists and, unless `fallback` is empty, a fallback tag listing `fallback`. */
async function seeded(repository: string, fallback: 'api-one-and-another' | 'none') {
  const image = makeImage({flavor: 'oci'})
  await pushImage(fake.url, repository, image, 'v1')
  const listed = bundleReferrer(image, `${repository}-listed`)
  const other = bundleReferrer(image, `${repository}-other`)
  await push(fake.url, repository, listed)
  await push(fake.url, repository, other)
  // The API lists what has this subject: hide `other` from it, as Quay's stale cache does.
  fake.addFault({
    name: 'stale listing',
    method: 'GET',
    path: new RegExp(`/v2/${repository}/referrers/`),
    times: Infinity,
    action: async (_ctx, next) => {
      const response = await next()
      const index = (await response.json()) as {manifests: {digest: string}[]}
      return Response.json({...index, manifests: index.manifests.filter((d) => d.digest === listed.digest)}, {headers: response.headers})
    },
  })
  if (fallback !== 'none') await push(fake.url, repository, fallbackIndex([descriptorOf(listed), descriptorOf(other)]), fallbackTagOf(image.digest))
  return {image, listed, other, repo: {registry: fake.host, repository}}
}

describe('the fallback tag next to an answering referrers API', () => {
  test("entries only the tag lists are added, once each, after the API's", async () => {
    const {image, listed, other, repo} = await seeded('merged', 'api-one-and-another')
    const listing = await loopbackClient().repository(repo).listReferrers(image.digest)
    expect(listing.api).toBe('supported')
    expect(listing.descriptors.map((d) => d.digest)).toStrictEqual([listed.digest, other.digest])
  })

  test('discovery costs no request more than before when the API lists entries and the tag is absent', async () => {
    const {image, listed, repo} = await seeded('counted', 'none')
    fake.clearLog()
    const found = await discoverArtifacts(loopbackClient().repository(repo), image.digest)
    expect(found.map((a) => a.manifest.digest)).toStrictEqual([listed.digest])
    // The version check, the ping (zero digest), the listing, the tag list (read for legacy tags anyway) and the referrer's manifest: no HEAD or GET
    // of the fallback tag, which the tag list says is absent.
    expect(fake.requests.map((r) => `${r.method} ${r.path.replace(/sha256:[a-f0-9]{64}/, 'D')}`).sort()).toStrictEqual([
      'GET /v2/',
      'GET /v2/counted/manifests/D',
      'GET /v2/counted/referrers/D',
      'GET /v2/counted/referrers/D',
      'GET /v2/counted/tags/list',
    ])
  })

  test('a registry that will not list tags: a HEAD of the tag only when the API answered empty', async () => {
    const {image, repo} = await seeded('unlisted', 'none')
    fake.addFault({name: 'no listing', method: 'GET', path: /\/v2\/unlisted\/tags\/list/, times: Infinity, action: () => ociError(403, 'DENIED', 'no')})
    const empty = makeImage({flavor: 'oci', seed: 'unsigned'})
    await pushImage(fake.url, 'unlisted', empty, 'v2')
    const client = loopbackClient()
    fake.clearLog()
    await client.repository(repo).listReferrers(image.digest)
    expect(fake.count('HEAD', `/v2/unlisted/manifests/${fallbackTagOf(image.digest)}`)).toBe(0)
    expect((await client.repository(repo).listReferrers(empty.digest)).descriptors).toStrictEqual([])
    expect(fake.count('HEAD', `/v2/unlisted/manifests/${fallbackTagOf(empty.digest)}`)).toBe(1)
  })
})
