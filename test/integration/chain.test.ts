/**
 * The chain of dependent round trips per entry, pinned: how many times one entry waits for a registry's answer
 * before it can send what comes next, in `sync` (plan and apply in one process) and in `apply` of a saved plan.
 * At 50 ms a round trip that chain, not bytes, is what small images cost. Counted in lockstep rounds
 * (test/support/lockstep.ts), so the figures are the same on a loaded machine as on an idle one.
 */
import {afterEach, beforeEach, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {Lockstep, type SteppedRequest} from '../support/lockstep.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(30_000)

let source: FakeRegistry
let target: FakeRegistry
let dir: string
let lockstep: Lockstep

beforeEach(async () => {
  ;[source, target] = await Promise.all([startFakeRegistry(), startFakeRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-chain-'))
  await writeFile(join(dir, 'config.json'), '{}')
  await pushIndex(
    source.url,
    'acme/index',
    makeIndex({
      flavor: 'oci',
      platforms: [
        {os: 'linux', architecture: 'amd64'},
        {os: 'linux', architecture: 'arm64'},
      ],
    }),
    '1',
  )
  await pushImage(source.url, 'acme/single', makeImage({flavor: 'oci'}), '1')
  lockstep = new Lockstep()
  source.addFault(lockstep.fault('source'))
  target.addFault(lockstep.fault('target'))
})

afterEach(async () => {
  await Promise.all([source.stop(), target.stop()])
  await rm(dir, {recursive: true, force: true})
})

async function definition(...repos: string[]): Promise<string> {
  const path = join(dir, `${repos.map((r) => r.replace('/', '-')).join('+')}.yaml`)
  await writeFile(path, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${repos.map((r) => `- source: "${source.host}/${r}:1"\n`).join('')}`)
  return path
}

async function cli(args: string[]): Promise<void> {
  // plan prints no progress, so it takes no --quiet.
  const run = await runCli(args[0] === 'plan' ? args : [...args, '--quiet'], {env: {DOCKER_CONFIG: dir}})
  expect(run.exitCode).toBe(0)
}

/** Rounds of one run; the chain is printed so a changed count shows which look came or went. */
function rounds(what: string): number {
  console.log(
    `${what}: ${lockstep.rounds} rounds\n${lockstep
      .chain()
      .map((r, i) => `  ${i + 1}. ${r.join(', ')}`)
      .join('\n')}`,
  )
  return lockstep.rounds
}

describe('the chain of dependent round trips of one entry', () => {
  // Before issue 18: index 16, single 14 (each with round 1, the GET /v2/ of both registries).
  test.each([
    ['acme/index', 13],
    ['acme/single', 12],
  ])('sync %s', async (repo, expected) => {
    await cli(['sync', '-i', await definition(repo)])
    expect(rounds(`sync ${repo}`)).toBe(expected)
  })

  // Before issue 18: index 16, single 13.
  test.each([
    ['acme/index', 13],
    ['acme/single', 11],
  ])('apply %s', async (repo, expected) => {
    const planPath = join(dir, 'out.plan.json')
    await cli(['plan', '-i', await definition(repo), '-o', planPath])
    lockstep.reset()
    await cli(['apply', planPath])
    expect(rounds(`apply ${repo}`)).toBe(expected)
  })

  // Planning and copying overlap in sync: the index, planned first (3 rounds), starts copying in the round in which
  // the single is still being planned (its config is read for its platform, a 4th), so the two cost no more rounds
  // than the index alone. Without the overlap: 14, the index's copy waiting a round for the single's plan.
  test('sync of an index and a single: one copies while the other is planned', async () => {
    await cli(['sync', '-i', await definition('acme/index', 'acme/single')])
    expect(rounds('sync acme/index + acme/single')).toBe(13)
    const first = (match: (r: SteppedRequest) => boolean) => Math.min(...lockstep.requests.filter(match).map((r) => r.round))
    const indexCopyStarts = first((r) => r.host === 'target' && /^HEAD \S+\/acme\/index\/manifests\/[0-9a-f]{8}$/.test(r.label))
    const singlePlanned = first((r) => r.host === 'source' && r.label.startsWith('GET /v2/acme/single/blobs/'))
    expect(indexCopyStarts).toBeLessThanOrEqual(singlePlanned)
  })
})
