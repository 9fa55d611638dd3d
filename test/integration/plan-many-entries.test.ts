/**
 * Planning many entries of one repository against the in-process registry: what planning reads once per
 * repository or registry (the tag list that signature discovery uses, the referrers probe) stays once whatever
 * the number of entries, and each further entry costs the same few requests. (Wall time is for
 * test/bench/many-entries.ts, not for a test.)
 */
import {afterEach, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runPlan} from '../../src/plan/run.ts'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()))
})

/** Plans `count` tags of acme/app (every fourth an index) into an empty target; the source's requests by kind. */
async function planned(count: number): Promise<{kinds: Map<string, number>; entries: number}> {
  const [source, target] = await Promise.all([startFakeRegistry(), startFakeRegistry()])
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-many-'))
  cleanups.push(
    () => source.stop(),
    () => target.stop(),
    () => rm(dir, {recursive: true, force: true}),
  )
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0)
      await pushIndex(
        source.url,
        'acme/app',
        makeIndex({
          flavor: 'oci',
          platforms: [
            {os: 'linux', architecture: 'amd64'},
            {os: 'linux', architecture: 'arm64'},
          ],
          layers: 1,
          layerSize: 32,
        }),
        `v${i}`,
      )
    else await pushImage(source.url, 'acme/app', makeImage({flavor: 'oci', layers: 1, layerSize: 32}), `v${i}`)
  }
  source.clearLog()
  const definitionPath = join(dir, 'many.yaml')
  await writeFile(
    definitionPath,
    `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${Array.from({length: count}, (_, i) => `- source: "${source.host}/acme/app:v${i}"`).join('\n')}\n`,
  )
  const outcome = await runPlan({
    definitionPath,
    outputPath: join(dir, 'many.plan.json'),
    registry: {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()},
    tool: {name: 'image-syncer', version: 'test'},
  })
  if (outcome.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(outcome.failures.slice(0, 2))}`)
  return {kinds: byKind(source), entries: outcome.plan.entries.length}
}

function byKind(registry: FakeRegistry): Map<string, number> {
  const kinds = new Map<string, number>()
  for (const r of registry.requests) {
    const kind = `${r.method} ${/\/(manifests|blobs|tags|referrers)\//.exec(r.path)?.[1] ?? r.path}`
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  return kinds
}

describe('planning N entries of one repository', () => {
  test('reads the tag list and probes referrers once, and each entry costs the same requests', async () => {
    const [few, many] = [await planned(8), await planned(40)]
    expect([few.entries, many.entries]).toEqual([8, 40])
    for (const run of [few, many]) {
      expect(run.kinds.get('GET tags')).toBe(1)
      expect(run.kinds.get('GET referrers') ?? 0).toBeLessThanOrEqual(1)
    }
    // Per entry, at the source: one HEAD, one manifest GET, and a config blob for a single manifest (an index
    // lists its platforms itself). 32 more entries, 24 of them single manifests.
    const more = (kind: string) => (many.kinds.get(kind) ?? 0) - (few.kinds.get(kind) ?? 0)
    expect(more('HEAD manifests')).toBe(32)
    expect(more('GET manifests')).toBe(32)
    expect(more('GET blobs')).toBe(24)
    const total = (run: typeof few) => [...run.kinds.values()].reduce((a, b) => a + b, 0)
    expect(total(many) - total(few)).toBe(32 + 32 + 24)
  })
})
