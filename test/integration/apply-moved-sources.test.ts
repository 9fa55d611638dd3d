/**
 * apply looks at every tag source before copying a reviewed plan (one HEAD): an entry whose source tag no longer
 * resolves to what the plan recorded (an edited plan that swapped in another digest of the same repository, or a
 * tag that moved since review) fails as a stale plan, naming both digests, and nothing is written for it.
 * --allow-moved-sources copies the recorded digest as before. Requests are counted on the in-process registries.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {runApply} from '../../src/apply/apply.ts'
import {runPlan} from '../../src/plan/run.ts'
import {runSync} from '../../src/sync/run.ts'
import type {FakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {testPace} from '../support/pace.ts'
import {assertTagsComplete, cleanUpAfterEach, fake, headTag, kinds, type Planned, targetOf, workdir} from './apply-helpers.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

const PLATFORMS = [
  {os: 'linux', architecture: 'amd64'},
  {os: 'linux', architecture: 'arm64'},
  {os: 'linux', architecture: 's390x'},
]
const writes = (registry: FakeRegistry) => registry.requests.filter((r) => !['GET', 'HEAD'].includes(r.method))
const tagLooks = (registry: FakeRegistry, repository: string, tag: string) => registry.count('HEAD', `/v2/${repository}/manifests/${tag}`)

/** Plans `entries` (YAML list items, sources relative to `source`) into `target` under `mirror/`. */
async function planWith(source: FakeRegistry, target: FakeRegistry, entries: string): Promise<Planned & {definitionPath: string}> {
  const dir = await workdir()
  const definitionPath = join(dir, 'images.yaml')
  await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${entries.replaceAll('SOURCE', source.host)}`)
  const registryOptions = {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()}
  const planPath = join(dir, 'out.plan.json')
  const outcome = await runPlan({definitionPath, outputPath: planPath, registry: registryOptions, tool: {name: 'image-syncer', version: 'test'}})
  if (outcome.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(outcome.failures)}`)
  source.clearLog()
  target.clearLog()
  return {plan: outcome.plan, planPath, dir, registryOptions, definitionPath}
}

const applyFile = (planned: Planned, extra: {movedSources?: 'allow'} = {}) =>
  runApply({planPath: planned.planPath, registry: planned.registryOptions, version: 'test', ...extra})
const failure = (result: Awaited<ReturnType<typeof applyFile>>, i = 0) => {
  const r = result.entries[i]!.result
  return r.kind === 'failed' ? r.message : `not failed: ${r.kind}`
}

describe('an edited plan that names another digest of the same source repository', () => {
  test('is refused as stale, naming both digests; nothing is written; --allow-moved-sources copies it', async () => {
    const source = await fake()
    const target = await fake()
    const reviewed = makeImage({flavor: 'oci', seed: 'reviewed'})
    const other = makeImage({flavor: 'oci', seed: 'other'})
    await pushImage(source.url, 'acme/app', reviewed, '1')
    await pushImage(source.url, 'acme/app', other, 'debug')
    const planned = await planWith(source, target, '- source: "SOURCE/acme/app:1"\n')
    expect(planned.plan.entries[0]!.sourceDigest).toBe(reviewed.digest)
    await writeFile(planned.planPath, (await readFile(planned.planPath, 'utf8')).replaceAll(reviewed.digest, other.digest))

    const refused = await applyFile(planned)
    expect(kinds(refused)).toEqual(['failed'])
    expect(failure(refused)).toBe(
      `${source.host}/acme/app:1 now resolves to ${reviewed.digest}, not the ${other.digest} this plan recorded: a stale or edited plan, nothing was copied; plan again, or pass --allow-moved-sources to copy the recorded digest`,
    )
    expect(writes(target)).toEqual([])
    expect(source.count('GET', /\/blobs\//)).toBe(0)

    const allowed = await applyFile(planned, {movedSources: 'allow'})
    expect(kinds(allowed)).toEqual(['copied'])
    const {repository, tag} = targetOf(planned.plan.entries[0]!)
    expect((await headTag(target, repository, tag)).digest).toBe(other.digest)
  })
})

describe('a source tag that moved since the plan', () => {
  test('fails that entry (the others are copied) and the CLI exits 1 with the sentence; the flag keeps the old behaviour', async () => {
    const source = await fake()
    const target = await fake()
    const original = makeIndex({flavor: 'docker', platforms: [PLATFORMS[0]!]})
    const moved = makeImage({flavor: 'oci'})
    const steady = makeImage({flavor: 'oci'})
    await pushIndex(source.url, 'acme/moving', original, '1')
    await pushImage(source.url, 'acme/steady', steady, '1')
    const planned = await planWith(source, target, '- source: "SOURCE/acme/moving:1"\n- source: "SOURCE/acme/steady:1"\n')
    await pushImage(source.url, 'acme/moving', moved, '1')

    const cli = await runCli(['apply', planned.planPath, '--quiet', '--format', 'json'], {env: {DOCKER_CONFIG: planned.dir}})
    expect(cli.exitCode).toBe(1)
    expect(cli.stdout).toContain(`acme/moving:1 now resolves to ${moved.digest}, not the ${original.digest} this plan recorded`)
    const [movingTarget, steadyTarget] = planned.plan.entries.map(targetOf) as [ReturnType<typeof targetOf>, ReturnType<typeof targetOf>]
    expect((await headTag(target, movingTarget.repository, movingTarget.tag)).status).toBe(404)
    expect((await headTag(target, steadyTarget.repository, steadyTarget.tag)).digest).toBe(steady.digest)

    source.clearLog()
    const allowed = await runCli(['apply', planned.planPath, '--quiet', '--allow-moved-sources'], {env: {DOCKER_CONFIG: planned.dir}})
    expect(allowed.exitCode).toBe(0)
    expect((await headTag(target, movingTarget.repository, movingTarget.tag)).digest).toBe(original.digest)
    // With the flag the moving tag is never asked for: the recorded digest is read by digest, as before.
    expect(source.count('*', '/v2/acme/moving/manifests/1')).toBe(0)
    for (const blob of [moved.config, ...moved.layers]) expect(target.storage.hasBlob(movingTarget.repository, blob.digest)).toBe(false)
    expect(await assertTagsComplete(target)).toBe(2)
  })

  test('a platform subset is checked against the source index the plan recorded', async () => {
    const source = await fake()
    const target = await fake()
    const index = makeIndex({flavor: 'oci', platforms: PLATFORMS})
    const rebuilt = makeIndex({flavor: 'oci', platforms: PLATFORMS})
    await pushIndex(source.url, 'acme/multi', index, '1')
    const planned = await planWith(source, target, '- source: "SOURCE/acme/multi:1"\n  platforms: [linux/amd64, linux/arm64]\n')
    const {selection} = planned.plan.entries[0]!
    expect(selection).toMatchObject({kind: 'platforms', indexDigest: index.digest})
    await pushIndex(source.url, 'acme/multi', rebuilt, '1')
    const result = await applyFile(planned)
    expect(failure(result)).toContain(`${source.host}/acme/multi:1 now resolves to ${rebuilt.digest}, not the ${index.digest} this plan recorded`)
    expect(writes(target)).toEqual([])
  })

  test('a tag deleted since the plan is refused the same way', async () => {
    const source = await fake()
    const target = await fake()
    const image = makeImage({flavor: 'oci'})
    await pushImage(source.url, 'acme/gone', image, '1')
    const planned = await planWith(source, target, '- source: "SOURCE/acme/gone:1"\n')
    expect(source.storage.deleteManifest('acme/gone', '1')).toBe(true)
    const result = await applyFile(planned)
    expect(failure(result)).toContain(`${source.host}/acme/gone:1 no longer exists, not the ${image.digest} this plan recorded`)
  })
})

describe('what the look costs', () => {
  test('cold: one HEAD per tag source, none for a digest-pinned source; warm (second apply): no request at the source', async () => {
    const source = await fake()
    const target = await fake()
    const a = makeImage({flavor: 'oci'})
    const b = makeImage({flavor: 'oci'})
    const pinned = makeIndex({flavor: 'oci', platforms: [PLATFORMS[0]!]})
    await pushImage(source.url, 'acme/a', a, '1')
    await pushImage(source.url, 'acme/b', b, '1')
    await pushIndex(source.url, 'acme/pinned', pinned, 'x')
    const planned = await planWith(
      source,
      target,
      `- source: "SOURCE/acme/a:1"\n- source: "SOURCE/acme/b:1"\n- source: "SOURCE/acme/pinned@${pinned.digest}"\n  tag: "1"\n`,
    )

    const cold = await applyFile(planned)
    expect(kinds(cold)).toEqual(['copied', 'copied', 'copied'])
    expect([tagLooks(source, 'acme/a', '1'), tagLooks(source, 'acme/b', '1')]).toEqual([1, 1])
    expect(source.count('*', /\/acme\/pinned\/manifests\/(?!sha256:)/)).toBe(0)
    const coldTotal = source.requests.length

    source.clearLog()
    const replanned = await planWith(
      source,
      target,
      `- source: "SOURCE/acme/a:1"\n- source: "SOURCE/acme/b:1"\n- source: "SOURCE/acme/pinned@${pinned.digest}"\n  tag: "1"\n`,
    )
    const warm = await applyFile(replanned)
    expect(kinds(warm)).toEqual(['already-present', 'already-present', 'already-present'])
    expect(source.requests).toEqual([])
    // Printed for the benchmark notes: what the cold apply cost at the source, the two tag HEADs included.
    console.log(`source requests of apply: cold ${coldTotal} for 3 entries (2 tag HEADs among them), warm 0`)
  })

  test('sync plans a moment before it applies: no second look at the source tag', async () => {
    const source = await fake()
    const target = await fake()
    await pushImage(source.url, 'acme/a', makeImage({flavor: 'oci'}), '1')
    const dir = await workdir()
    const definitionPath = join(dir, 'images.yaml')
    await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n- source: "${source.host}/acme/a:1"\n`)
    const outcome = await runSync({
      definitionPath,
      dryRun: false,
      registry: {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()},
      tool: {name: 'image-syncer', version: 'test'},
    })
    expect(outcome.kind === 'planned' && outcome.apply.kind === 'applied' ? kinds(outcome.apply.result) : []).toEqual(['copied'])
    // The plan's own look only.
    expect(tagLooks(source, 'acme/a', '1')).toBe(1)
  })
})
