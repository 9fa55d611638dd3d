/**
 * A source registry that throttles by load (429 + Retry-After beyond 4 requests in flight), planned and applied
 * through the whole client stack, once with the adaptive per-registry limit (the default) and once with the fixed
 * limit it replaced. Both must end with every entry copied; the adaptive one must draw fewer 429s. Counted on the
 * registry's side, never timed: the test pace waits for nothing. (test/bench/throttle.ts times the same on real
 * sleeps.)
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {join} from 'node:path'
import {writeFile} from 'node:fs/promises'
import {applyPlan} from '../../src/apply/apply.ts'
import {runPlan} from '../../src/plan/run.ts'
import {connectRegistries} from '../../src/registry/connect.ts'
import type {RetryPolicy} from '../../src/transport/retry.ts'
import type {HostConcurrency} from '../../src/transport/transport.ts'
import {concurrencyLimit} from '../support/fake-registry/index.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {testPace} from '../support/pace.ts'
import {cleanUpAfterEach, fake, kinds, workdir} from './apply-helpers.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

const IMAGES = 12
const LIMIT = 4
/**
 * Enough attempts for the fixed limit to get through too: on the test pace its retries come back at once, into a
 * registry still full, and take up to ~100 attempts (which also swells its count of 429s: test/bench/throttle.ts
 * gives the figures on real sleeps). The adaptive limit needs 3 at most here.
 */
const PATIENT: RetryPolicy = {maxAttempts: 1000, baseDelayMs: 500, maxDelayMs: 30_000}

async function throttledRun(hostConcurrency: HostConcurrency) {
  const source = await fake()
  const target = await fake()
  await Promise.all(
    Array.from({length: IMAGES}, (_, i) => pushImage(source.url, `acme/app${i}`, makeImage({flavor: 'oci', seed: `throttled-${i}`, layers: 2}), '1')),
  )
  // Added after seeding: the client's requests alone are throttled. Each served request takes 3 ms, so they overlap.
  const fault = concurrencyLimit({limit: LIMIT, retryAfterSeconds: 1, serviceMs: 3})
  source.addFault(fault)
  const dir = await workdir()
  const definitionPath = join(dir, 'images.yaml')
  const sources = Array.from({length: IMAGES}, (_, i) => `- source: "${source.host}/acme/app${i}:1"`)
  await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${sources.join('\n')}\n`)
  const registry = {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace({retry: PATIENT}), hostConcurrency}
  const planned = await runPlan({definitionPath, outputPath: join(dir, 'out.plan.json'), registry, tool: {name: 'image-syncer', version: 'test'}})
  if (planned.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(planned.failures)}`)
  const pace = testPace({retry: PATIENT})
  const client = await connectRegistries({...registry, pace, targetRegistry: target.host}, 'test')
  const applied = await applyPlan(planned.plan, client, {pace})
  return {kinds: kinds(applied), ...fault.state}
}

describe('a registry that throttles above 4 requests in flight', () => {
  test('the adaptive limit draws fewer 429s than the fixed one, and both copy every entry', async () => {
    const adaptive = await throttledRun('adaptive')
    const fixed = await throttledRun('fixed')
    expect(adaptive.kinds).toStrictEqual(Array(IMAGES).fill('copied'))
    expect(fixed.kinds).toStrictEqual(Array(IMAGES).fill('copied'))
    // Both ran into the limit (32 in flight to start with), and the registry never served more than it allows.
    expect(fixed.throttled).toBeGreaterThan(0)
    expect(adaptive.throttled).toBeGreaterThan(0)
    expect(Math.max(adaptive.peak, fixed.peak)).toBeLessThanOrEqual(LIMIT)
    expect(adaptive.throttled).toBeLessThan(fixed.throttled)
  })
})
