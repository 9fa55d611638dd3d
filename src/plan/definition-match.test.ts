import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {generateKeyPairSync} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {loadDefinition} from '../definition/load.ts'
import {DefinitionError} from '../definition/errors.ts'
import {MediaType} from '../oci/media-types.ts'
import type {Digest} from '../ref/digest.ts'
import {rejectedWith} from '../../test/support/errors.ts'
import {buildPlan} from './build.ts'
import {matchDefinition} from './definition-match.ts'
import type {Plan, PlanEntry} from './model.ts'
import type {Observation} from './observation.ts'
import {recordPolicy} from './policy-record.ts'

const PREFIX = 'registry.example/mirror/'

function dg(name: string): Digest {
  return `sha256:${new Bun.CryptoHasher('sha256').update(name).digest('hex')}`
}

const INDEX = dg('index')
const AMD64 = dg('amd64')
const DEFINITION = [
  `targetRepoPrefix: "${PREFIX}"`,
  'signatures:',
  '  verify: required',
  '  keys: [./vendor.pub]',
  '  trustedRoot: ./root.json',
  'images:',
  '- source: "busybox:1.36"',
  `- source: "busybox@${INDEX}"`,
  '  tag: "pinned"',
  '- source: "quay.io/acme/app:2.0"',
  '  amd64Only: true',
  '  signatures: {verify: skip}',
  '',
].join('\n')

let dir: string
let path: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-definition-match-'))
  path = join(dir, 'images.yaml')
  await writeFile(path, DEFINITION)
  await writeFile(join(dir, 'vendor.pub'), generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({type: 'spki', format: 'pem'}))
  await writeFile(join(dir, 'root.json'), '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}')
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** The plan `plan` makes of the definition at `path`, every source an index with an amd64 child. */
async function planOf(file: string): Promise<Plan> {
  const definition = await loadDefinition(file)
  const manifests = [{mediaType: MediaType.OciManifest, digest: AMD64, size: 1, platform: {os: 'linux', architecture: 'amd64'}}]
  const observations: Observation[] = await Promise.all(
    definition.entries.map(async (entry) => ({
      kind: 'observed' as const,
      source: {digest: INDEX, mediaType: MediaType.OciIndex, content: {kind: 'index' as const, manifests}},
      targetDigest: null,
      signatures: {policy: await recordPolicy(entry.signatures), verdicts: [], attestations: []},
    })),
  )
  const meta = {
    tool: {name: 'image-syncer', version: 'test'},
    createdAt: '2026-01-01T00:00:00.000Z',
    definition: {path: definition.path, sha256: definition.sha256},
    targetRepoPrefix: definition.targetRepoPrefix,
  }
  const result = buildPlan(definition.entries, observations, meta)
  if (result.kind !== 'planned') throw new Error(JSON.stringify(result.failures))
  return result.plan
}

async function withEntry(i: number, change: (entry: PlanEntry) => Partial<PlanEntry>): Promise<Plan> {
  const plan = await planOf(path)
  plan.entries[i] = {...plan.entries[i]!, ...change(plan.entries[i]!)}
  return plan
}

async function problems(plan: Plan, targetRepoPrefix?: string): Promise<string[]> {
  const match = await matchDefinition(plan, path, targetRepoPrefix)
  return match.kind === 'differs' ? match.problems : [match.kind]
}

describe('matchDefinition', () => {
  test('the plan made from the file matches it, however the file was spelled when planning', async () => {
    expect(await matchDefinition(await planOf(path), path)).toEqual({kind: 'matches'})
    // Planned with a relative path: the recorded trusted root path is relative too.
    const cwdRelative = await planOf(relative(process.cwd(), path))
    expect(cwdRelative.entries[0]!.signature.policy.trustedRoot).toMatchObject({path: relative(process.cwd(), join(dir, 'root.json'))})
    expect(await matchDefinition(cwdRelative, path)).toEqual({kind: 'matches'})
  })

  test('a definition edited since the plan is "changed", before it is even parsed', async () => {
    const plan = await planOf(path)
    const edited = join(dir, 'edited.yaml')
    await writeFile(edited, `${DEFINITION}- source: [broken\n`)
    expect(await matchDefinition(plan, edited)).toMatchObject({kind: 'changed', planned: plan.definition.sha256})
  })

  test('an unreadable definition is a DefinitionError', async () => {
    const error = await rejectedWith(DefinitionError, matchDefinition(await planOf(path), join(dir, 'missing.yaml')))
    expect(error.message).toBe(`${join(dir, 'missing.yaml')}:1:1: cannot read the definition file: no such file`)
  })

  const target = (rest: string) => `"${PREFIX}${rest}"`
  const cases: Array<{name: string; plan: () => Promise<Plan>; want: string[]; prefix?: string}> = [
    {
      name: 'an added entry',
      plan: async () => {
        const plan = await planOf(path)
        plan.entries.push({...plan.entries[0]!, source: 'evil/tool:1', sourceRepository: 'docker.io/evil/tool', target: `${PREFIX}evil/tool:1`})
        return plan
      },
      want: [`entry 4 (target ${target('evil/tool:1')}) is not made by any entry of the definition`],
    },
    {
      name: 'a dropped entry',
      plan: async () => {
        const plan = await planOf(path)
        plan.entries.pop()
        return plan
      },
      want: [`the definition's entry on line 10 (source "quay.io/acme/app:2.0", target ${target('quay.io/acme/app:2.0')}) is missing from the plan`],
    },
    {
      name: 'another source for a target',
      plan: () => withEntry(0, () => ({source: 'docker.io/library/busybox:1.37'})),
      want: [`entry 1 (target ${target('library/busybox:1.36')}): source is "docker.io/library/busybox:1.37", the definition says "busybox:1.36" (line 7)`],
    },
    {
      name: 'another source repository',
      plan: () => withEntry(0, () => ({sourceRepository: 'evil.example/library/busybox'})),
      want: [
        `entry 1 (target ${target('library/busybox:1.36')}): sourceRepository is "evil.example/library/busybox", the definition's source is in "docker.io/library/busybox"`,
      ],
    },
    {
      name: 'a swapped digest under a pin',
      plan: () => withEntry(1, () => ({sourceDigest: dg('evil')})),
      want: [`entry 2 (target ${target('library/busybox:pinned')}): the plan copies from ${dg('evil')}, the definition pins ${INDEX}`],
    },
    {
      name: 'amd64Only dropped',
      plan: () => withEntry(2, () => ({selection: {kind: 'whole'}})),
      want: [`entry 3 (target ${target('quay.io/acme/app:2.0')}): the plan copies the whole image, the definition asks for linux/amd64 alone (line 10)`],
    },
    {
      name: "another platform than amd64Only's",
      plan: () =>
        withEntry(2, (e) => ({
          selection: {kind: 'platform', platform: 'linux/arm64', indexDigest: INDEX},
          platforms: ['linux/arm64'],
          sourceDigest: e.sourceDigest,
        })),
      want: [`entry 3 (target ${target('quay.io/acme/app:2.0')}): the plan copies linux/arm64 alone, the definition asks for linux/amd64 alone (line 10)`],
    },
    {
      name: 'a platforms subset instead of the whole image',
      plan: () =>
        withEntry(0, () => ({
          selection: {kind: 'platforms', platforms: ['linux/amd64', 'linux/arm64'], indexDigest: INDEX, digest: dg('subset')},
          platforms: ['linux/amd64', 'linux/arm64'],
        })),
      want: [
        `entry 1 (target ${target('library/busybox:1.36')}): the plan copies an index of linux/amd64, linux/arm64, the definition asks for the whole image (line 7)`,
      ],
    },
    {
      name: 'a weakened signature policy',
      plan: () => withEntry(0, (e) => ({signature: {...e.signature, policy: {...e.signature.policy, verify: 'skip', keys: []}}})),
      want: [`entry 1 (target ${target('library/busybox:1.36')}): its signature policy differs from the definition's in verify, keys`],
    },
    {
      name: 'another trusted root',
      plan: () => withEntry(0, (e) => ({signature: {...e.signature, policy: {...e.signature.policy, trustedRoot: {kind: 'public-good'}}}})),
      want: [`entry 1 (target ${target('library/busybox:1.36')}): its signature policy differs from the definition's in trustedRoot`],
    },
    {
      name: 'a plan made for another target prefix than the one named at apply',
      plan: () => planOf(path),
      prefix: 'registry.example/other/',
      want: ['targetRepoPrefix is "registry.example/mirror/", the definition gives "registry.example/other/"'],
    },
  ]
  for (const {name, plan, want, prefix} of cases) {
    test(`differs: ${name}`, async () => {
      const got = await problems(await plan(), prefix)
      expect(got.slice(0, want.length)).toEqual(want)
    })
  }
})
