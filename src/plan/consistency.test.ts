import {describe, expect, test} from 'bun:test'
import {generateKeyPairSync} from 'node:crypto'
import {parseDefinition} from '../definition/load.ts'
import {MediaType} from '../oci/media-types.ts'
import type {Digest} from '../ref/digest.ts'
import {keyFingerprint} from '../signatures/trust.ts'
import {buildPlan} from './build.ts'
import {planInconsistencies, quote} from './consistency.ts'
import type {Plan, PlanEntry} from './model.ts'
import type {Observation} from './observation.ts'
import type {PolicyRecord} from './signature-record.ts'

const PREFIX = 'registry.example/mirror/'

function dg(name: string): Digest {
  return `sha256:${new Bun.CryptoHasher('sha256').update(name).digest('hex')}`
}

const INDEX = dg('index')
const AMD64 = dg('amd64')
const ARM64 = dg('arm64')
const POLICY: PolicyRecord = {verify: 'if-present', keys: [], identities: [], trustedRoot: {kind: 'public-good'}, copy: true, sign: null, attestations: []}
const MANIFESTS = [
  {mediaType: MediaType.OciManifest, digest: AMD64, size: 1, platform: {os: 'linux', architecture: 'amd64'}},
  {mediaType: MediaType.OciManifest, digest: ARM64, size: 1, platform: {os: 'linux', architecture: 'arm64'}},
]

function index(targetDigest: Digest | null): Observation {
  return {
    kind: 'observed',
    source: {digest: INDEX, mediaType: MediaType.OciIndex, content: {kind: 'index', manifests: MANIFESTS}},
    targetDigest,
    signatures: {policy: POLICY, verdicts: [], attestations: []},
  }
}

function image(digest: Digest, targetDigest: Digest | null): Observation {
  const content = {kind: 'image' as const, platform: {os: 'linux', architecture: 'amd64'}, bytes: 1000}
  return {
    kind: 'observed',
    source: {digest, mediaType: MediaType.OciManifest, content},
    targetDigest,
    signatures: {policy: POLICY, verdicts: [], attestations: []},
  }
}

/** A plan exactly as `plan` writes it, covering every naming rule and selection. */
function goodPlan(): Plan {
  const lines = [
    '- source: "busybox:1.36"',
    `- source: "busybox@${INDEX}"\n  tag: "pinned"`,
    '- source: "quay.io/acme/app:2.0"\n  amd64Only: true',
    '- source: "localhost:5000/team/tool:1.0"\n  tag: "renamed"\n  amd64Only: true',
    '- source: "[::1]:5000/x:1"',
    '- source: "acme/present:1.0"',
    '- source: "acme/conflict:1.0"',
  ]
  const text = `targetRepoPrefix: "${PREFIX}"\nimages:\n${lines.join('\n')}\n`
  const entries = parseDefinition('images.yaml', text, dg('definition')).entries.map(({signatures: {keyFiles: _, ...policy}, ...entry}) => ({
    ...entry,
    signatures: {...policy, keys: [], attestations: []},
  }))
  const observations = [index(null), index(null), index(null), image(dg('tool'), null), index(null), index(INDEX), index(dg('other'))]
  const result = buildPlan(entries, observations, {
    tool: {name: 'image-syncer', version: 'test'},
    createdAt: '2026-01-01T00:00:00.000Z',
    definition: {path: 'images.yaml', sha256: dg('definition')},
    targetRepoPrefix: PREFIX,
  })
  if (result.kind !== 'planned') throw new Error(JSON.stringify(result.failures))
  return result.plan
}

/** `goodPlan` with entry `i` changed. */
function withEntry(i: number, change: (entry: PlanEntry) => Partial<PlanEntry>): Plan {
  const plan = goodPlan()
  plan.entries[i] = {...plan.entries[i]!, ...change(plan.entries[i]!)}
  return plan
}

describe('planInconsistencies', () => {
  test('a plan as plan writes it holds together', () => {
    const plan = goodPlan()
    expect(plan.entries.map((e) => e.target)).toEqual([
      `${PREFIX}library/busybox:1.36`,
      `${PREFIX}library/busybox:pinned`,
      `${PREFIX}quay.io/acme/app:2.0`,
      `${PREFIX}localhost-5000/team/tool:renamed`,
      `${PREFIX}0_0_0_0_0_0_0_1-5000/x:1`,
      `${PREFIX}acme/present:1.0`,
      `${PREFIX}acme/conflict:1.0`,
    ])
    expect(planInconsistencies(plan)).toEqual([])
  })

  test('an empty plan holds together', () => {
    expect(planInconsistencies({...goodPlan(), entries: [], summary: {toCopy: 0, alreadyPresent: 0, conflicting: 0, signatureFailures: 0}})).toEqual([])
  })

  const otherPrefix = 'elsewhere.example/mirror/'
  const cases: Array<{name: string; plan: () => Plan; want: string}> = [
    {
      name: 'summary counts that contradict the entries',
      plan: () => ({...goodPlan(), summary: {toCopy: 0, alreadyPresent: 7, conflicting: 0, signatureFailures: 0}}),
      want: 'the summary says 0 to copy, 7 already present, 0 conflicting, 0 signature failures, but the entries hold 5 to copy, 1 already present, 1 conflicting, 0 signature failures',
    },
    {
      name: 'a sourceRepository other than the source shown',
      plan: () => withEntry(0, () => ({sourceRepository: 'evil.example/library/busybox'})),
      want: `entry 1 (target "${PREFIX}library/busybox:1.36"): sourceRepository "evil.example/library/busybox" is not the repository of source "busybox:1.36" ("docker.io/library/busybox")`,
    },
    {
      name: 'a source that is not a reference',
      plan: () => withEntry(0, () => ({source: 'Busybox:1.36'})),
      want: 'source "Busybox:1.36" is not a reference: repository name must be lower case',
    },
    {
      name: 'a source with neither tag nor digest',
      plan: () => withEntry(0, () => ({source: 'busybox'})),
      want: 'source "busybox" has neither a tag nor a digest',
    },
    {
      name: 'a target on another registry',
      plan: () => withEntry(0, () => ({target: `${otherPrefix}library/busybox:1.36`})),
      want: `target is not under targetRepoPrefix "${PREFIX}"`,
    },
    {
      name: 'a target under the prefix that breaks the naming rules',
      plan: () => withEntry(0, () => ({target: `${PREFIX}library/alpine:1.36`})),
      want: `target is not where source "busybox:1.36" is mirrored under "${PREFIX}" ("${PREFIX}library/busybox:1.36")`,
    },
    {name: 'a target without a tag', plan: () => withEntry(0, () => ({target: `${PREFIX}library/busybox`})), want: 'target must name a tag and no digest'},
    {
      name: 'a target prefix that moved without its targets',
      plan: () => ({...goodPlan(), targetRepoPrefix: otherPrefix}),
      want: `target is not under targetRepoPrefix "${otherPrefix}"`,
    },
    {
      name: 'a target prefix not written as plan writes it',
      plan: () => ({...goodPlan(), targetRepoPrefix: 'Registry.example/mirror'}),
      want: 'targetRepoPrefix "Registry.example/mirror" is not written the way plan writes it ("registry.example/mirror/")',
    },
    {
      name: 'a swapped sourceDigest under a digest pin',
      plan: () => withEntry(1, () => ({sourceDigest: dg('evil')})),
      want: `sourceDigest ${dg('evil')} is not the digest the source pins (${INDEX})`,
    },
    {
      name: 'a swapped index under an amd64Only digest pin',
      plan: () => withEntry(1, () => ({selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: dg('evil')}, platforms: ['linux/amd64']})),
      want: `selection.indexDigest ${dg('evil')} is not the digest the source pins (${INDEX})`,
    },
    {
      name: 'platforms that contradict an amd64Only selection',
      plan: () => withEntry(2, () => ({platforms: ['linux/amd64', 'linux/arm64']})),
      want: 'platforms "linux/amd64, linux/arm64" contradict the selection of linux/amd64 alone',
    },
    {
      name: 'an index picked out of itself',
      plan: () => withEntry(2, (e) => ({selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: e.sourceDigest}})),
      want: 'selection.indexDigest equals sourceDigest',
    },
    {name: 'a platform listed twice', plan: () => withEntry(0, () => ({platforms: ['linux/amd64', 'linux/amd64']})), want: 'platforms lists a platform twice'},
    {
      name: 'an artifactType on an amd64Only entry',
      plan: () => withEntry(2, () => ({artifactType: 'application/vnd.cncf.helm.config.v1+json'})),
      want: 'artifactType "application/vnd.cncf.helm.config.v1+json" is recorded, but an artifact has no platforms to list or pick',
    },
    {
      name: 'an artifactType next to platforms',
      plan: () => withEntry(0, () => ({artifactType: 'application/vnd.example'})),
      want: 'artifactType "application/vnd.example" is recorded, but an artifact has no platforms',
    },
    {
      name: 'to-copy over a tag seen holding content',
      plan: () => withEntry(0, () => ({targetDigest: dg('other')})),
      want: `action is to-copy but the target was seen holding ${dg('other')}`,
    },
    {
      name: 'already-present at another digest',
      plan: () => withEntry(5, () => ({targetDigest: dg('other')})),
      want: `action is already-present but the target was seen holding ${dg('other')}, not ${INDEX}`,
    },
    {
      name: 'a conflict with nothing at the target',
      plan: () => withEntry(6, () => ({targetDigest: null})),
      want: 'action is conflicting-ID but the target was seen holding nothing',
    },
    {
      name: 'an added entry writing the same target',
      plan: () => {
        const plan = goodPlan()
        plan.entries.push({...plan.entries[0]!})
        plan.summary.toCopy++
        return plan
      },
      want: `entry 8 (target "${PREFIX}library/busybox:1.36"): entry 1 writes the same target`,
    },
  ]
  for (const {name, plan, want} of cases) {
    test(`refuses ${name}`, () => {
      expect(planInconsistencies(plan())).toEqual(expect.arrayContaining([expect.stringContaining(want)]))
    })
  }

  test('a key whose PEM is not the key its fingerprint names', () => {
    const pem = generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({type: 'spki', format: 'pem'}) as string
    const other = generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({type: 'spki', format: 'pem'}) as string
    const withKey = (key: {fingerprint: string; pem: string}) =>
      withEntry(0, (e) => ({signature: {...e.signature, policy: {...e.signature.policy, keys: [key]}}}))
    expect(planInconsistencies(withKey({fingerprint: keyFingerprint(pem), pem}))).toEqual([])
    expect(planInconsistencies(withKey({fingerprint: keyFingerprint(pem), pem: other}))).toEqual([
      `entry 1 (target "${PREFIX}library/busybox:1.36"): signature key 1 has fingerprint "${keyFingerprint(pem)}", but its PEM is the key ${keyFingerprint(other)}`,
    ])
    expect(planInconsistencies(withKey({fingerprint: keyFingerprint(pem), pem: 'junk'}))).toEqual([
      `entry 1 (target "${PREFIX}library/busybox:1.36"): signature key 1 is not a usable public key`,
    ])
  })

  test('values from the file are quoted, so control characters show as escapes, and cut', () => {
    expect(quote('a\u001b[31mb')).toBe('"a\\u001b[31mb"')
    expect(quote('x'.repeat(1000))).toHaveLength(199)
  })
})
