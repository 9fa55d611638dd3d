/**
 * Two applies of one plan at the same time, against the real docker-registry 2.8 (issue 7, point 6). Both
 * write the same blobs, child manifests and tags; distribution rewrites its link files in place, so each writer
 * can briefly see the other's content as unknown and have a manifest PUT refused. Both must succeed, every time.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {applyPlan} from '../../src/apply/apply.ts'
import type {Plan} from '../../src/plan/model.ts'
import {runPlan} from '../../src/plan/run.ts'
import {connectRegistries} from '../../src/registry/connect.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {testPace} from '../support/pace.ts'
import {realPace} from '../../src/commands/pace.ts'

setDefaultTimeout(120_000)

const ROUNDS = 5
const PLATFORMS = ['amd64', 'arm64', 's390x', 'ppc64le'].map((architecture) => ({os: 'linux', architecture}))

let registry: RealRegistry
let dir: string
beforeAll(async () => {
  registry = await startRealRegistry()
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-concurrent-'))
  await writeFile(join(dir, 'config.json'), '{}')
})
afterAll(async () => {
  await registry?.stop()
  if (dir) await rm(dir, {recursive: true, force: true})
})

/** Indexes sharing layers across repositories and an image, pushed under `round`'s repositories, then planned. */
async function planRound(round: number): Promise<Plan> {
  const seed = crypto.randomUUID()
  const repos = ['a', 'b', 'c'].map((name) => `src${round}/${name}`)
  for (const repo of repos) await pushIndex(registry.url, repo, makeIndex({flavor: 'oci', platforms: PLATFORMS, attestation: true, seed, layers: 3}), '1')
  await pushImage(registry.url, `src${round}/single`, makeImage({flavor: 'docker', seed, layers: 3}), '1')
  const definitionPath = join(dir, `round${round}.yaml`)
  const sources = [...repos, `src${round}/single`].map((repo) => `- source: "${registry.host}/${repo}:1"`)
  await writeFile(definitionPath, `targetRepoPrefix: "${registry.host}/mirror/"\nimages:\n${sources.join('\n')}\n`)
  const outcome = await runPlan({
    definitionPath,
    outputPath: join(dir, `round${round}.plan.json`),
    registry: {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()},
    tool: {name: 'image-syncer', version: 'test'},
  })
  if (outcome.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(outcome.failures)}`)
  return outcome.plan
}

/** One apply with its own client, as a second CI job would run it. */
async function applyOnce(plan: Plan) {
  // The run's real pace: the manifest-PUT retry waits out the other writer's link writes, as it does in production.
  const pace = realPace()
  const client = await connectRegistries({insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace, targetRegistry: registry.host}, 'test')
  return applyPlan(plan, client, {pace})
}

describe('two applies of the same plan at once', () => {
  test(`both succeed, ${ROUNDS} rounds in a row, and the target holds every tag completely`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const plan = await planRound(round)
      const [one, two] = await Promise.all([applyOnce(plan), applyOnce(plan)])
      for (const result of [one, two]) {
        const failed = result.entries.filter((e) => e.result.kind === 'failed' || e.result.kind === 'conflict')
        expect({round, failed}).toEqual({round, failed: []})
      }
      for (const entry of plan.entries) {
        const target = entry.target.slice(registry.host.length + 1)
        const [repository, tag] = target.split(':') as [string, string]
        const response = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
          method: 'HEAD',
          headers: {accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json'},
        })
        expect({round, target, digest: response.headers.get('docker-content-digest')}).toEqual({round, target, digest: entry.sourceDigest})
      }
    }
  })
})
