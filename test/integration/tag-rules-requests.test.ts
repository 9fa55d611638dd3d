/**
 * What a tag rule costs at the source, counted on the registry's side (the in-process registry, which pages
 * `tags/list` at 25 like a capped registry): one request per page of the listing, and otherwise exactly what
 * the same tags written out as plain entries cost. No manifest GET is spent on listing or selecting.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {runPlan} from '../../src/plan/run.ts'
import {type FakeRegistry, requestCost} from '../support/fake-registry/index.ts'
import {makeImage, pushImage, putManifest} from '../support/images.ts'
import {apply, cleanUpAfterEach, fake, kinds, type Planned, workdir} from './apply-helpers.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)
cleanUpAfterEach()

/** 38 versions, 7.0.0 … 7.4.5 with a Bitnami suffix, each its own image; with `latest` and `7`, 40 tags. */
const VERSIONS = Array.from({length: 38}, (_, i) => `7.${Math.floor(i / 8)}.${i % 8}-debian-12-r${i}`)

async function seeded(): Promise<{source: FakeRegistry; target: FakeRegistry}> {
  const source = await fake({tagsPageSize: 25})
  const target = await fake()
  for (const tag of VERSIONS) await pushImage(source.url, 'bitnami/redis', makeImage({flavor: 'docker', platform: {os: 'linux', architecture: 'amd64'}}), tag)
  const floating = makeImage({flavor: 'docker', platform: {os: 'linux', architecture: 'amd64'}})
  await pushImage(source.url, 'bitnami/redis', floating, 'latest')
  await putManifest(source.url, 'bitnami/redis', '7', floating.bytes, floating.mediaType)
  source.clearLog()
  return {source, target}
}

async function plan(target: FakeRegistry, images: string): Promise<Planned> {
  const dir = await workdir()
  const definitionPath = join(dir, 'images.yaml')
  await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${images}\n`)
  const registryOptions = {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()}
  const planPath = join(dir, 'out.plan.json')
  const outcome = await runPlan({definitionPath, outputPath: planPath, registry: registryOptions, tool: {name: 'image-syncer', version: 'test'}})
  if (outcome.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(outcome.failures)}`)
  return {plan: outcome.plan, planPath, dir, registryOptions}
}

const cost = requestCost

describe('tag rules spend no manifest GET at the source', () => {
  test('a rule costs what its tags written out cost: the listing pages are shared with signature discovery', async () => {
    const {source, target} = await seeded()
    const ruled = await plan(target, `- source: "${source.host}/bitnami/redis"\n  tags: {semver: ">=7.2 <7.4", exclude: ["*-r2?"], latest: 5}`)
    const matched = ruled.plan.rules![0]!.matched
    // 7.2.0 … 7.3.7 in range, r20 … r29 excluded, the highest five of the rest.
    expect(matched).toEqual(['7.3.7-debian-12-r31', '7.3.6-debian-12-r30', '7.2.3-debian-12-r19', '7.2.2-debian-12-r18', '7.2.1-debian-12-r17'])
    expect(ruled.plan.rules![0]!.listed).toBe(40)
    const byRule = cost(source)
    // 40 tags at 25 a page: two tags/list requests, the second following the first's Link.
    expect(byRule.tagLists).toBe(2)
    expect(source.requests.filter((r) => r.path.endsWith('/tags/list')).map((r) => r.query)).toEqual(['n=1000', 'n=25&last=7.2.7-debian-12-r23'])

    source.clearLog()
    const written = await plan(target, matched.map((t) => `- source: "${source.host}/bitnami/redis:${t}"`).join('\n'))
    expect(written.plan.entries.map((e) => [e.target, e.sourceDigest])).toEqual(ruled.plan.entries.map((e) => [e.target, e.sourceDigest]))
    expect(byRule).toEqual(cost(source))
    expect(byRule.manifestGets).toBe(matched.length)
    expect(byRule.manifestHeads).toBe(matched.length)
  })

  test('warm: once mirrored, a rule spends the listing pages and one HEAD per tag at the source, no GET', async () => {
    const {source, target} = await seeded()
    const rule = `- source: "${source.host}/bitnami/redis"\n  tags: {semver: "^7.4"}\n  target: tools/redis`
    const cold = await plan(target, rule)
    expect(cold.plan.entries.map((e) => e.target)).toEqual(
      ['7.4.5-debian-12-r37', '7.4.4-debian-12-r36', '7.4.3-debian-12-r35', '7.4.2-debian-12-r34', '7.4.1-debian-12-r33', '7.4.0-debian-12-r32'].map(
        (t) => `${target.host}/mirror/tools/redis:${t}`,
      ),
    )
    // apply works from the plan alone: it re-derives each renamed target from the recorded targetPath.
    expect(kinds(await apply(target, cold))).toEqual(cold.plan.entries.map(() => 'copied'))
    source.clearLog()
    const warm = await plan(target, rule)
    expect(warm.plan.entries.map((e) => e.action)).toEqual(cold.plan.entries.map(() => 'already-present'))
    expect(cost(source)).toEqual({requests: 2 + 6, manifestGets: 0, manifestHeads: 6, blobGets: 0, tagLists: 2, referrers: 0})
  })

  test("a rule reads a long listing to its end, where a plain entry's signature lookup would stop at 20 pages", async () => {
    const source = await fake({tagsPageSize: 1})
    const target = await fake()
    const image = makeImage({flavor: 'docker', platform: {os: 'linux', architecture: 'amd64'}})
    await pushImage(source.url, 'acme/many', image, '1.0.0')
    for (let i = 1; i < 30; i++) await putManifest(source.url, 'acme/many', `1.0.${i}`, image.bytes, image.mediaType)
    source.clearLog()
    const planned = await plan(target, `- source: "${source.host}/acme/many"\n  tags: {semver: "1.0.29"}`)
    expect(planned.plan.rules![0]).toMatchObject({listed: 30, matched: ['1.0.29']})
    // One request per page, and the listing is not read twice.
    expect(cost(source).tagLists).toBe(30)
  })
})
