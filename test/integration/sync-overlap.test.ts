/**
 * `sync` copies an entry as soon as it is planned (src/sync/overlap.ts). What it must keep: the plan it makes is
 * the one `plan` writes, byte for byte; its outcome is plan + apply's; and a run that plan + apply would refuse
 * (a conflict, an entry that cannot be planned, a short pull budget) writes no tag anywhere, even for entries
 * whose content it had already copied by digest.
 */
import {afterEach, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {applyPlan} from '../../src/apply/apply.ts'
import {writePlanFile} from '../../src/plan/planfile.ts'
import {computePlan, runPlan} from '../../src/plan/run.ts'
import {runSync, type SyncOutcome} from '../../src/sync/run.ts'
import {type FakeRegistry, pullLimit, startFakeRegistry} from '../support/fake-registry/index.ts'
import {headManifest, makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(20_000)

const servers: FakeRegistry[] = []
const dirs: string[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()))
  await Promise.all(dirs.splice(0).map((d) => rm(d, {recursive: true, force: true})))
})

async function fake(): Promise<FakeRegistry> {
  const registry = await startFakeRegistry()
  servers.push(registry)
  return registry
}

async function definitionFile(source: FakeRegistry, target: FakeRegistry, repos: string[]): Promise<{dir: string; path: string}> {
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-overlap-'))
  dirs.push(dir)
  await writeFile(join(dir, 'config.json'), '{}')
  const path = join(dir, 'images.yaml')
  // Renamed to mirror/<repo>, so the test names targets without the source's host and port.
  await writeFile(
    path,
    `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${repos.map((r) => `- source: "${source.host}/${r}:1"\n  target: "${r}"\n`).join('')}`,
  )
  return {dir, path}
}

const NOW = () => new Date('2026-01-02T03:04:05Z')

function request(dir: string, definitionPath: string) {
  return {
    definitionPath,
    registry: {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()},
    tool: {name: 'image-syncer', version: 'test'},
    now: NOW,
  }
}

async function seed(source: FakeRegistry): Promise<void> {
  const platforms = [
    {os: 'linux', architecture: 'amd64'},
    {os: 'linux', architecture: 'arm64'},
  ]
  await pushIndex(source.url, 'acme/index', makeIndex({flavor: 'oci', platforms}), '1')
  await pushImage(source.url, 'acme/single', makeImage({flavor: 'oci'}), '1')
  await pushImage(source.url, 'acme/docker', makeImage({flavor: 'docker'}), '1')
}

/** Manifest PUTs the target got by tag (not by digest): what names content. */
function tagWrites(target: FakeRegistry): string[] {
  return target.requests.filter((r) => r.method === 'PUT' && /\/manifests\/(?!sha256:)[^/]+$/.test(r.path)).map((r) => r.path)
}

function applied(outcome: SyncOutcome) {
  if (outcome.kind !== 'planned' || outcome.apply.kind !== 'applied') throw new Error(`sync did not apply: ${JSON.stringify(outcome)}`)
  return {plan: outcome.plan, result: outcome.apply.result}
}

describe('sync overlaps planning and copying', () => {
  test("its plan is byte for byte plan's, and its outcome plan + apply's", async () => {
    const source = await fake()
    await seed(source)
    const [synced, applyTarget] = [await fake(), await fake()]
    // One entry already present at both targets, so each action is in the plan.
    for (const t of [synced, applyTarget]) await pushImage(t.url, 'mirror/acme/docker', makeImage({flavor: 'docker', seed: 'same'}), '1')
    await pushImage(source.url, 'acme/docker', makeImage({flavor: 'docker', seed: 'same'}), '1')
    const repos = ['acme/index', 'acme/single', 'acme/docker']
    const one = await definitionFile(source, synced, repos)

    const planPath = join(one.dir, 'out.plan.json')
    const planned = await runPlan({...request(one.dir, one.path), outputPath: planPath})
    expect(planned.kind).toBe('planned')
    const {plan, result} = applied(await runSync({...request(one.dir, one.path), dryRun: false}))
    const syncPlanPath = join(one.dir, 'sync.plan.json')
    await writePlanFile(syncPlanPath, plan)
    expect(await readFile(syncPlanPath, 'utf8')).toBe(await readFile(planPath, 'utf8'))

    // The same definition at another target, planned then applied in two steps.
    const two = await definitionFile(source, applyTarget, repos)
    const {stores, result: twoPlan} = await computePlan(request(two.dir, two.path))
    if (twoPlan.kind !== 'planned') throw new Error('plan failed')
    const stepwise = await applyPlan(twoPlan.plan, stores, {pace: testPace(), planAge: 'reviewed'})
    const shape = (r: typeof result) => r.entries.map((e) => ({target: e.target.replace(/^[^/]+/, 'T'), result: e.result, blobs: e.blobs, bytes: e.bytes}))
    expect(shape(result)).toEqual(shape(stepwise))
    expect(result.entries.map((e) => e.result.kind)).toEqual(['copied', 'copied', 'already-present'])
    for (const repo of repos) {
      const [a, b] = await Promise.all([headManifest(synced.url, `mirror/${repo}`, '1'), headManifest(applyTarget.url, `mirror/${repo}`, '1')])
      expect(a.status).toBe(200)
      expect(a.digest).toBe(b.digest)
    }
  })

  /**
   * The refusing entry's answer is held until the other entry's top manifest is in the target by digest: its
   * content is copied while planning goes on, then the refusal closes the gate. Were the copy not overlapped, the
   * hold would end only at its timeout and the first assertion would fail.
   */
  test.each([
    ['a conflict', 'conflicting-ID'],
    ['an entry that cannot be planned', 'unclassified'],
  ])('%s anywhere: no tag is written anywhere, though content was copied', async (_what, refusal) => {
    const source = await fake()
    const target = await fake()
    await seed(source)
    const single = await pushImage(source.url, 'acme/single', makeImage({flavor: 'oci', seed: 'single'}), '1')
    if (refusal === 'conflicting-ID') await pushImage(target.url, 'mirror/acme/index', makeImage({flavor: 'oci', seed: 'other'}), '1')
    target.clearLog()
    const {dir, path} = await definitionFile(source, target, ['acme/single', refusal === 'conflicting-ID' ? 'acme/index' : 'acme/missing'])

    let copied: () => void = () => {}
    const contentCopied = new Promise<void>((resolve) => {
      copied = resolve
    })
    target.addFault({
      method: 'PUT',
      path: `/v2/mirror/acme/single/manifests/${single}`,
      action: async (_ctx, next) => {
        const answer = await next()
        copied()
        return answer
      },
    })
    const held = refusal === 'conflicting-ID' ? target : source
    held.addFault({
      path: refusal === 'conflicting-ID' ? '/v2/mirror/acme/index/manifests/1' : '/v2/acme/missing/manifests/1',
      times: Infinity,
      action: async (_ctx, next) => {
        await Promise.race([contentCopied, Bun.sleep(5_000)])
        return next()
      },
    })

    const outcome = await runSync({...request(dir, path), dryRun: false})
    expect(refusal === 'conflicting-ID' ? outcome.kind === 'planned' && outcome.apply.kind : outcome.kind).toBe(
      refusal === 'conflicting-ID' ? 'refused' : 'unclassified',
    )
    // The single's content went in by digest before the refusal was known...
    expect((await headManifest(target.url, 'mirror/acme/single', single)).status).toBe(200)
    // ...and nothing was tagged: not its tag, not a signature, nothing.
    expect((await headManifest(target.url, 'mirror/acme/single', '1')).status).toBe(404)
    expect(tagWrites(target)).toEqual([])
  })

  test('entries of a registry that announced a pull budget wait for the whole plan: a short budget copies nothing', async () => {
    const source = await fake()
    const target = await fake()
    await seed(source)
    // Planning spends 2 pulls (each source manifest read once); applying needs 2 more, and 1 is left.
    const limit = pullLimit({limit: 100, remaining: 3})
    source.addFault(limit)
    const {dir, path} = await definitionFile(source, target, ['acme/single', 'acme/docker'])
    target.clearLog()
    const outcome = runSync({...request(dir, path), dryRun: false})
    await expect(outcome).rejects.toMatchObject({code: 'PULL_BUDGET_TOO_SMALL'})
    expect(limit.state.spent).toBe(2)
    expect(target.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([])
  })
})
