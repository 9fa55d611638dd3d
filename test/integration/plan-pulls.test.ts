/**
 * What planning costs at the registries, counted on the registries' side: a warm plan (everything already
 * mirrored) spends no Docker Hub pull (no source manifest GET) and two requests per entry (three for a single
 * manifest, whose config says its platform), plus one tag list per repository and one referrers probe per
 * registry; a cold plan reads each distinct source digest once and looks signatures up without manifest GETs.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import type {FakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {apply, cleanUpAfterEach, fake, kinds, planFor} from './apply-helpers.ts'

setDefaultTimeout(60_000)
cleanUpAfterEach()

const AMD64 = {os: 'linux', architecture: 'amd64'}
const ARM64 = {os: 'linux', architecture: 'arm64'}

/** Repository requests (pings and tokens left out: they are per registry and scope), by kind. */
function cost(registry: FakeRegistry) {
  const repo = registry.requests.filter((r) => r.path.startsWith('/v2/') && r.path !== '/v2/')
  const manifests = repo.filter((r) => r.path.includes('/manifests/'))
  return {
    requests: repo.length,
    manifestGets: manifests.filter((r) => r.method === 'GET').length,
    manifestHeads: manifests.filter((r) => r.method === 'HEAD').length,
    blobGets: repo.filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).length,
    tagLists: repo.filter((r) => r.path.endsWith('/tags/list')).length,
    referrers: repo.filter((r) => r.path.includes('/referrers/')).length,
  }
}

/**
 * Seven entries over three repositories: four multi-platform indexes (one of them under two tags, so six distinct
 * digests in all) and two single manifests.
 */
async function seeded() {
  const source = await fake()
  const target = await fake()
  const sources: string[] = []
  const shared = makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]})
  for (const [repo, tags] of [['acme/a', ['1', '2', '3']], ['acme/b', ['1']]] as const) {
    for (const tag of tags) {
      await pushIndex(source.url, repo, tag === '1' && repo === 'acme/a' ? shared : makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]}), tag)
      sources.push(`${repo}:${tag}`)
    }
  }
  await pushIndex(source.url, 'acme/a', shared, 'latest')
  sources.push('acme/a:latest')
  for (const tag of ['1', '2']) {
    await pushImage(source.url, 'acme/c', makeImage({flavor: 'docker', platform: AMD64}), tag)
    sources.push(`acme/c:${tag}`)
  }
  source.clearLog()
  return {source, target, sources}
}

describe('planning spends no Docker Hub pulls it does not need', () => {
  test('warm plan: no source manifest GET; one source HEAD and one target GET per entry', async () => {
    const {source, target, sources} = await seeded()
    const cold = await planFor(source, target, sources)
    expect(kinds(await apply(target, cold))).toEqual(sources.map(() => 'copied'))
    source.clearLog()
    target.clearLog()

    const warm = await planFor(source, target, sources)
    expect(warm.plan.entries.map((e) => e.action)).toEqual(sources.map(() => 'already-present'))
    // What the plan shows is the same, read from the target instead of the source.
    expect(warm.plan.entries.map((e) => [e.platforms, e.signature.status])).toEqual(cold.plan.entries.map((e) => [e.platforms, e.signature.status]))
    const [atSource, atTarget] = [cost(source), cost(target)]
    expect(atSource).toEqual({requests: 7, manifestGets: 0, manifestHeads: 7, blobGets: 0, tagLists: 0, referrers: 0})
    // Per entry a GET of the target tag; per single manifest (two) its config; per repository (three) one tag
    // list; per registry one referrers probe.
    expect(atTarget).toEqual({requests: 7 + 2 + 3 + 1, manifestGets: 7, manifestHeads: 0, blobGets: 2, tagLists: 3, referrers: 1})
    const perEntry = (atSource.requests + atTarget.requests - atTarget.tagLists - atTarget.referrers) / sources.length
    expect(perEntry).toBeLessThanOrEqual(2 + 2 / 7)
  })

  test('cold plan: one manifest GET per distinct source digest; signatures found with one tag list per repository', async () => {
    const {source, target, sources} = await seeded()
    const cold = await planFor(source, target, sources)
    expect(cold.plan.entries.every((e) => e.action === 'to-copy')).toBe(true)
    // Six distinct digests (acme/a:1 and :latest share one); the two single manifests add their config blobs.
    expect(cost(source)).toEqual({requests: 7 + 6 + 2 + 3 + 1, manifestGets: 6, manifestHeads: 7, blobGets: 2, tagLists: 3, referrers: 1})
  })
})
