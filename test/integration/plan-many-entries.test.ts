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
import {makeImage, makeIndex, pushBlob, pushImage, pushIndex, putManifest} from '../support/images.ts'
import {requestCost} from '../support/fake-registry/index.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()))
})

/** A source and a target registry and a directory, removed after the test. */
async function setUp(): Promise<{source: FakeRegistry; target: FakeRegistry; dir: string}> {
  const [source, target] = await Promise.all([startFakeRegistry(), startFakeRegistry()])
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-many-'))
  cleanups.push(
    () => source.stop(),
    () => target.stop(),
    () => rm(dir, {recursive: true, force: true}),
  )
  return {source, target, dir}
}

/** Plans `sources` (repo:tag at `source`) into an empty target. */
async function plan(source: FakeRegistry, target: FakeRegistry, dir: string, sources: readonly string[]) {
  const definitionPath = join(dir, 'many.yaml')
  await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${sources.map((s) => `- source: "${source.host}/${s}"`).join('\n')}\n`)
  const outcome = await runPlan({
    definitionPath,
    outputPath: join(dir, 'many.plan.json'),
    registry: {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()},
    tool: {name: 'image-syncer', version: 'test'},
  })
  if (outcome.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(outcome.failures.slice(0, 2))}`)
  return outcome.plan
}

/** Plans `count` tags of acme/app (every fourth an index) into an empty target; the source's requests by kind. */
async function planned(count: number): Promise<{kinds: Map<string, number>; entries: number}> {
  const {source, target, dir} = await setUp()
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
  const entries = (
    await plan(
      source,
      target,
      dir,
      Array.from({length: count}, (_, i) => `acme/app:v${i}`),
    )
  ).entries.length
  return {kinds: byKind(source), entries}
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

  test('images that share a config (builds of one base, told apart by an annotation) read it once per repository', async () => {
    const {source, target, dir} = await setUp()
    const base = makeImage({flavor: 'oci', layers: 1, layerSize: 32})
    const sources: string[] = []
    for (const [repo, tags] of [
      ['acme/a', 5],
      ['acme/b', 3],
    ] as const) {
      for (const blob of [base.config, ...base.layers]) await pushBlob(source.url, repo, blob)
      for (let i = 0; i < tags; i++) {
        const manifest = JSON.parse(new TextDecoder().decode(base.bytes))
        const bytes = new TextEncoder().encode(JSON.stringify({...manifest, annotations: {build: `${repo}-${i}`}}))
        await putManifest(source.url, repo, `v${i}`, bytes, base.mediaType)
        sources.push(`${repo}:v${i}`)
      }
    }
    source.clearLog()
    const planned = await plan(source, target, dir, sources)
    expect(new Set(planned.entries.map((e) => e.sourceDigest)).size).toBe(8)
    expect(planned.entries.every((e) => e.action === 'to-copy' && e.platforms.join() === 'linux/amd64')).toBe(true)
    expect(planned.entries.map((e) => e.sourceDigest)).not.toContain(sha256Digest(base.bytes))
    // Per entry one HEAD and one manifest GET; the config once in each of the two repositories.
    expect(requestCost(source)).toEqual({requests: 8 + 8 + 2 + 2 + 1, manifestGets: 8, manifestHeads: 8, blobGets: 2, tagLists: 2, referrers: 1})
  })
})
