/**
 * What planning costs at the registries, counted on the registries' side: a warm plan (everything already
 * mirrored) spends no Docker Hub pull (no source manifest GET) and two requests per entry (three for a single
 * manifest, whose config says its platform), plus one tag list per repository and one referrers probe per
 * registry; a cold plan reads each distinct source digest once and looks signatures up without manifest GETs.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {applyPlan} from '../../src/apply/apply.ts'
import {runPlan} from '../../src/plan/run.ts'
import {connectRegistries} from '../../src/registry/connect.ts'
import {renderPlan} from '../../src/views/plan.ts'
import {pullLimit, requestCost, tooManyRequests} from '../support/fake-registry/index.ts'
import {type Image, makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {pushLegacySignature} from '../support/signed-images.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {apply, cleanUpAfterEach, fake, kinds, planFor, workdir} from './apply-helpers.ts'
import {runCli} from './scenario.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)
cleanUpAfterEach()

const AMD64 = {os: 'linux', architecture: 'amd64'}
const ARM64 = {os: 'linux', architecture: 'arm64'}

const cost = requestCost

/**
 * Seven entries over three repositories: four multi-platform indexes (one of them under two tags, so six distinct
 * digests in all) and two single manifests.
 */
async function seeded() {
  const source = await fake()
  const target = await fake()
  const sources: string[] = []
  const shared = makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]})
  for (const [repo, tags] of [
    ['acme/a', ['1', '2', '3']],
    ['acme/b', ['1']],
  ] as const) {
    for (const tag of tags) {
      await pushIndex(source.url, repo, tag === '1' && repo === 'acme/a' ? shared : makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]}), tag)
      sources.push(`${repo}:${tag}`)
    }
  }
  await pushIndex(source.url, 'acme/a', shared, 'latest')
  sources.push('acme/a:latest')
  const singles = new Map<string, Image>()
  for (const tag of ['1', '2']) {
    const image = makeImage({flavor: 'docker', platform: AMD64})
    await pushImage(source.url, 'acme/c', image, tag)
    sources.push(`acme/c:${tag}`)
    singles.set(`acme/c:${tag}`, image)
  }
  source.clearLog()
  return {source, target, sources, singles}
}

/** Two indexes (3 manifests each) at a source that announces 6 pulls left and spends 2 on planning. */
async function indexesBehindBudget() {
  const spec = pullLimit({limit: 100, remaining: 6})
  const source = await fake()
  const target = await fake()
  await pushIndex(source.url, 'acme/a', makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]}), '1')
  await pushIndex(source.url, 'acme/a', makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]}), '2')
  source.addFault(spec)
  return {spec, source, target}
}

describe('planning spends no Docker Hub pulls it does not need', () => {
  test('warm plan: no source manifest GET; one source HEAD and one target GET per entry', async () => {
    const {source, target, sources, singles} = await seeded()
    const cold = await planFor(source, target, sources)
    // A single manifest's bytes come from the manifest read anyway; an index's children are not read: none.
    const sizes = sources.map((s) => singles.get(s)).map((image) => image && [image.config, ...image.layers].reduce((n, b) => n + b.bytes.length, 0))
    expect(cold.plan.entries.map((e) => e.bytes)).toEqual(sizes)
    expect(kinds(await apply(target, cold))).toEqual(sources.map(() => 'copied'))
    source.clearLog()
    target.clearLog()

    const warm = await planFor(source, target, sources)
    expect(warm.plan.entries.map((e) => e.action)).toEqual(sources.map(() => 'already-present'))
    // What the plan shows is the same, read from the target instead of the source.
    expect(warm.plan.entries.map((e) => [e.platforms, e.signature.status, e.bytes])).toEqual(
      cold.plan.entries.map((e) => [e.platforms, e.signature.status, e.bytes]),
    )
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

describe('the plan counts the pulls apply will spend', () => {
  test('needed and left are recorded per source registry, shown in the table, and are what apply spends', async () => {
    const spec = pullLimit({limit: 100, remaining: 50})
    const source = await fake()
    const target = await fake()
    await pushIndex(source.url, 'acme/a', makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]}), '1')
    await pushIndex(source.url, 'acme/a', makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]}), '2')
    await pushImage(source.url, 'acme/c', makeImage({flavor: 'oci'}), '1')
    source.addFault(spec)
    const planned = await planFor(source, target, ['acme/a:1', 'acme/a:2', 'acme/c:1'])
    // Planning spent one pull per distinct digest; apply needs index + 2 children twice, and the single manifest.
    expect(spec.state.spent).toBe(3)
    expect(planned.plan.pulls).toEqual([{registry: source.host, needed: 7, limit: 100, remaining: 47}])
    expect(renderPlan(planned.plan, 'table')).toContain(`${source.host}: 7 pulls needed, 47 left.`)
    expect(renderPlan(planned.plan, 'markdown')).toContain(`${source.host}: 7 pulls needed, 47 left.`)
    expect(kinds(await apply(target, planned))).toEqual(['copied', 'copied', 'copied'])
    expect(spec.state.spent - 3).toBe(7)
  })

  test('apply refuses to start when a known budget is smaller than what the plan needs, unless --ignore-pull-budget', async () => {
    const {spec, source, target} = await indexesBehindBudget()
    const planned = await planFor(source, target, ['acme/a:1', 'acme/a:2'])
    expect(planned.plan.pulls).toEqual([{registry: source.host, needed: 6, limit: 100, remaining: 4}])
    source.clearLog()
    const env = {DOCKER_CONFIG: planned.dir}
    const refused = await runCli(['apply', planned.planPath, '--quiet'], {env})
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr.trim()).toBe(
      `Error: ${source.host} had 4 pulls left when planned but this plan needs 6: plan again once the rate limit resets, or pass --ignore-pull-budget`,
    )
    expect(source.requests).toEqual([])

    spec.state.remaining = 100
    const forced = await runCli(['apply', planned.planPath, '--quiet'], {env: {...env, SYNCER_IGNORE_PULL_BUDGET: 'true'}})
    expect(forced.exitCode).toBe(0)
  })

  test('the one-shot mode refuses the same way: a known budget smaller than the plan needs copies nothing', async () => {
    const {spec, source, target} = await indexesBehindBudget()
    const dir = await workdir()
    const definition = join(dir, 'images.yaml')
    await writeFile(
      definition,
      `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n- source: "${source.host}/acme/a:1"\n- source: "${source.host}/acme/a:2"\n`,
    )
    target.clearLog()
    const refused = await runCli(['sync', '-i', definition, '--quiet'], {env: {DOCKER_CONFIG: dir}})
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain(`Error: ${source.host} had 4 pulls left when planned but this plan needs 6`)
    expect(target.requests.filter((r) => r.method === 'PUT' || r.method === 'POST')).toEqual([])

    spec.state.remaining = 100
    const forced = await runCli(['sync', '-i', definition, '--quiet', '--ignore-pull-budget'], {env: {DOCKER_CONFIG: dir}})
    expect(forced.exitCode).toBe(0)
  })

  test('apply says why it waits on a 429', async () => {
    const source = await fake()
    const target = await fake()
    const index = makeIndex({flavor: 'oci', platforms: [AMD64]})
    await pushIndex(source.url, 'acme/a', index, '1')
    const planned = await planFor(source, target, ['acme/a:1'])
    source.addFault(tooManyRequests({method: 'GET', path: `/v2/acme/a/manifests/${index.digest}`}, 1))
    const result = await runCli(['apply', planned.planPath, '--quiet'], {env: {DOCKER_CONFIG: planned.dir}})
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toContain(`${source.host}: rate limited (429), waiting 1 s as Retry-After asks`)
  })
})

describe('a warm plan reads signatures at the target', () => {
  const vendor = makeKeyPair()

  /** Plans `acme/signed:1` under `verify: required` with the vendor key, `copy` as given; applies when asked. */
  async function signedCase(copy: boolean) {
    const source = await fake()
    const target = await fake()
    const image = makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]})
    await pushIndex(source.url, 'acme/signed', image, '1')
    await pushLegacySignature(source.url, 'acme/signed', image.digest, vendor)
    const dir = await workdir()
    await writeFile(join(dir, 'vendor.pub'), vendor.publicPem)
    const definitionPath = join(dir, 'images.yaml')
    await writeFile(
      definitionPath,
      `targetRepoPrefix: "${target.host}/mirror/"\nsignatures:\n  verify: required\n  keys: [./vendor.pub]\n  copy: ${copy}\nimages:\n- source: "${source.host}/acme/signed:1"\n`,
    )
    const registry = {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()}
    const plan = async () => {
      const outcome = await runPlan({definitionPath, outputPath: join(dir, 'out.plan.json'), registry, tool: {name: 'image-syncer', version: 'test'}})
      if (outcome.kind !== 'planned') throw new Error(JSON.stringify(outcome.failures))
      return outcome.plan
    }
    const cold = await plan()
    expect(cold.entries[0]!.signature.status).toBe('verified')
    const client = await connectRegistries({...registry, targetRegistry: target.host}, 'test')
    expect(kinds(await applyPlan(cold, client, {pace: registry.pace}))).toEqual(['copied'])
    source.clearLog()
    return {source, warm: await plan()}
  }

  test('signatures carried to the target verify there: no source manifest GET', async () => {
    const {source, warm} = await signedCase(true)
    expect(warm.entries[0]).toMatchObject({action: 'already-present', signature: {status: 'verified', found: 1}})
    expect(cost(source).manifestGets).toBe(0)
  })

  test("signatures not carried (copy: false) are read at the source, so the verdict is not worse than the source's", async () => {
    const {source, warm} = await signedCase(false)
    expect(warm.entries[0]).toMatchObject({action: 'already-present', signature: {status: 'verified', found: 1}})
    // The .sig manifest only: the image itself is still read at the target.
    expect(cost(source).manifestGets).toBe(1)
  })
})
