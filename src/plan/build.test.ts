import {describe, expect, test} from 'bun:test'
import Value from 'typebox/value'
import {parseDefinition} from '../definition/load.ts'
import type {DefinitionEntry} from '../definition/resolve.ts'
import type {Descriptor} from '../oci/manifest.ts'
import {MediaType} from '../oci/media-types.ts'
import type {Platform} from '../oci/platform.ts'
import type {Digest} from '../ref/digest.ts'
import {buildPlan, type EntryFailure, type PlanMeta} from './build.ts'
import type {PolicyRecord} from './signature-record.ts'
import {type Plan, PLAN_FORMAT_VERSION, PlanSchema} from './model.ts'
import {serializePlan} from './planfile.ts'
import type {Observation} from './observation.ts'

const PREFIX = 'eu.gcr.io/kyma-project/external/'
const DEF_SHA = `sha256:${'d'.repeat(64)}` as Digest

/** A distinct, valid digest per name. */
function dg(name: string): Digest {
  return `sha256:${new Bun.CryptoHasher('sha256').update(name).digest('hex')}`
}

const META: PlanMeta = {
  tool: {name: 'image-syncer', version: '0.1.0'},
  createdAt: '2024-05-01T12:00:00.000Z',
  definition: {path: 'external-images.yaml', sha256: DEF_SHA},
  targetRepoPrefix: PREFIX,
}

/** Definition entries from YAML image lines (images start on line 3). */
function entries(...lines: string[]): DefinitionEntry[] {
  const text = [`targetRepoPrefix: "${PREFIX}"`, 'images:', ...lines, ''].join('\n')
  // No key files in these definitions, so a draft's policy is complete once it has an empty key list.
  return parseDefinition('external-images.yaml', text, DEF_SHA).entries.map(({signatures: {keyFiles: _, ...policy}, ...entry}) => ({
    ...entry,
    signatures: {...policy, keys: [], attestations: []},
  }))
}

function child(platform: Platform | undefined, digest: Digest, mediaType: string = MediaType.OciManifest): Descriptor {
  return {mediaType, digest, size: 1234, ...(platform ? {platform} : {})}
}

const AMD64 = {os: 'linux', architecture: 'amd64'}
const ARM64 = {os: 'linux', architecture: 'arm64', variant: 'v8'}
const ARMV7 = {os: 'linux', architecture: 'arm', variant: 'v7'}
const UNKNOWN = {os: 'unknown', architecture: 'unknown'}

const INDEX = dg('index')
const AMD64_CHILD = dg('amd64')
const ARM64_CHILD = dg('arm64')
const ARMV7_CHILD = dg('armv7')
const ATTESTATION = dg('attestation')

/** A buildx-style index: three platforms and an attestation manifest per platform. */
const BUILDX_INDEX: Descriptor[] = [
  child(AMD64, AMD64_CHILD),
  child(ARM64, ARM64_CHILD),
  child(ARMV7, ARMV7_CHILD),
  {...child(UNKNOWN, ATTESTATION), annotations: {'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': AMD64_CHILD}},
  {...child(UNKNOWN, dg('attestation-2')), annotations: {'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': ARM64_CHILD}},
]

/** No signatures block, nothing found: what every entry of these tests has. */
const NO_POLICY: PolicyRecord = {verify: 'if-present', keys: [], identities: [], trustedRoot: {kind: 'public-good'}, copy: true, sign: null, attestations: []}
const UNSIGNED = {policy: NO_POLICY, status: 'unsigned' as const, signers: [], found: 0, reasons: [], attestations: []}

function indexObservation(manifests: Descriptor[], targetDigest: Digest | null, digest: Digest = INDEX): Observation {
  return {
    kind: 'observed',
    source: {digest, mediaType: MediaType.OciIndex, content: {kind: 'index', manifests}},
    targetDigest,
    signatures: {policy: NO_POLICY, verdicts: [], attestations: []},
  }
}

function imageObservation(digest: Digest, platform: Platform | null, targetDigest: Digest | null, mediaType: string = MediaType.DockerManifest): Observation {
  return {
    kind: 'observed',
    source: {digest, mediaType, content: {kind: 'image', platform, bytes: 1000}},
    targetDigest,
    signatures: {policy: NO_POLICY, verdicts: [], attestations: []},
  }
}

function planned(result: ReturnType<typeof buildPlan>): Plan {
  if (result.kind !== 'planned') throw new Error(`want a plan, got failures: ${JSON.stringify(result.failures, null, 2)}`)
  return result.plan
}

function failed(result: ReturnType<typeof buildPlan>): EntryFailure[] {
  if (result.kind !== 'failed') throw new Error(`want failures, got a plan: ${JSON.stringify(result.plan, null, 2)}`)
  return result.failures
}

function expectValidPlan(plan: Plan): void {
  const errors = [...Value.Errors(PlanSchema, plan)].map((e) => `${e.instancePath} ${e.message}`)
  expect(errors).toStrictEqual([])
  expect(Value.Check(PlanSchema, plan)).toBe(true)
}

describe('buildPlan: actions', () => {
  const cases: {name: string; target: Digest | null; action: string}[] = [
    {name: 'target tag absent → to-copy', target: null, action: 'to-copy'},
    {name: 'target tag at the source digest → already-present', target: INDEX, action: 'already-present'},
    {name: 'target tag at another digest → conflicting-ID', target: dg('other'), action: 'conflicting-ID'},
  ]
  for (const {name, target, action} of cases) {
    test(name, () => {
      const plan = planned(buildPlan(entries('- source: "busybox:1.36"'), [indexObservation(BUILDX_INDEX, target)], META))
      expect(plan.entries).toHaveLength(1)
      expect(plan.entries[0]?.action).toBe(action as never)
      expect(plan.entries[0]?.targetDigest).toBe(target)
      expectValidPlan(plan)
    })
  }
})

describe('buildPlan: whole images', () => {
  test('an index is copied whole; its platforms leave out unknown/unknown attestations and descriptors without platform', () => {
    const manifests = [...BUILDX_INDEX, child(undefined, dg('no-platform')), child(AMD64, dg('amd64-dup'))]
    const plan = planned(buildPlan(entries('- source: "bitnami/keycloak-gatekeeper:9.0.3"'), [indexObservation(manifests, null)], META))
    expect(plan.entries).toStrictEqual([
      {
        source: 'bitnami/keycloak-gatekeeper:9.0.3',
        sourceRepository: 'docker.io/bitnami/keycloak-gatekeeper',
        sourceDigest: INDEX,
        mediaType: MediaType.OciIndex,
        platforms: ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'],
        selection: {kind: 'whole'},
        target: `${PREFIX}bitnami/keycloak-gatekeeper:9.0.3`,
        action: 'to-copy',
        targetDigest: null,
        signature: UNSIGNED,
      },
    ])
    expectValidPlan(plan)
  })

  test('a digest-pinned index is copied whole under the `tag:` target', () => {
    const [entry] = entries(`- source: "busybox@${INDEX}"`, '  tag: "1.32.0-v1"')
    const plan = planned(buildPlan([entry!], [indexObservation(BUILDX_INDEX, null)], META))
    expect(plan.entries[0]).toMatchObject({
      sourceDigest: INDEX,
      target: `${PREFIX}library/busybox:1.32.0-v1`,
      selection: {kind: 'whole'},
      sourceRepository: 'docker.io/library/busybox',
    })
    expectValidPlan(plan)
  })

  test('a tag pointing at a single manifest is copied whole with its one platform', () => {
    const plan = planned(buildPlan(entries('- source: "quay.io/prometheus/node-exporter:v1.8.0"'), [imageObservation(dg('img'), ARM64, null)], META))
    expect(plan.entries[0]).toStrictEqual({
      source: 'quay.io/prometheus/node-exporter:v1.8.0',
      sourceRepository: 'quay.io/prometheus/node-exporter',
      sourceDigest: dg('img'),
      mediaType: MediaType.DockerManifest,
      platforms: ['linux/arm64/v8'],
      selection: {kind: 'whole'},
      bytes: 1000,
      target: `${PREFIX}quay.io/prometheus/node-exporter:v1.8.0`,
      action: 'to-copy',
      targetDigest: null,
      signature: UNSIGNED,
    })
    expectValidPlan(plan)
  })

  test('a single manifest whose config names no platform has no platforms', () => {
    const plan = planned(buildPlan(entries('- source: "busybox:1"'), [imageObservation(dg('img'), null, dg('img'))], META))
    expect(plan.entries[0]?.platforms).toStrictEqual([])
    expect(plan.entries[0]?.action).toBe('already-present')
  })
})

describe('buildPlan: amd64Only', () => {
  test('on an index picks the linux/amd64 child: its digest is the source digest, the index is recorded', () => {
    const plan = planned(
      buildPlan(entries('- source: "bitnami/postgres-exporter:0.11.1-debian-11-r69"', '  amd64Only: true'), [indexObservation(BUILDX_INDEX, null)], META),
    )
    expect(plan.entries[0]).toStrictEqual({
      source: 'bitnami/postgres-exporter:0.11.1-debian-11-r69',
      sourceRepository: 'docker.io/bitnami/postgres-exporter',
      sourceDigest: AMD64_CHILD,
      mediaType: MediaType.OciManifest,
      platforms: ['linux/amd64'],
      selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: INDEX},
      target: `${PREFIX}bitnami/postgres-exporter:0.11.1-debian-11-r69`,
      action: 'to-copy',
      targetDigest: null,
      signature: UNSIGNED,
    })
    expectValidPlan(plan)
  })

  test('on an index prefers the variant-less linux/amd64 manifest, wherever it is listed', () => {
    const manifests = [child({...AMD64, variant: 'v3'}, dg('amd64-v3')), child(ARM64, ARM64_CHILD), child(AMD64, AMD64_CHILD, MediaType.DockerManifest)]
    const plan = planned(buildPlan(entries('- source: "busybox:1"', '  amd64Only: true'), [indexObservation(manifests, null)], META))
    expect(plan.entries[0]?.sourceDigest).toBe(AMD64_CHILD)
    expect(plan.entries[0]?.mediaType).toBe(MediaType.DockerManifest)
  })

  test('on an index with only a variant amd64 manifest takes that one', () => {
    const manifests = [child(ARM64, ARM64_CHILD), child({...AMD64, variant: 'v2'}, dg('amd64-v2'))]
    const plan = planned(buildPlan(entries('- source: "busybox:1"', '  amd64Only: true'), [indexObservation(manifests, null)], META))
    expect(plan.entries[0]?.sourceDigest).toBe(dg('amd64-v2'))
  })

  test('on an index compares the target with the amd64 manifest, not the index', () => {
    const [present, conflicting] = [AMD64_CHILD, INDEX].map(
      (target) => planned(buildPlan(entries('- source: "busybox:1"', '  amd64Only: true'), [indexObservation(BUILDX_INDEX, target)], META)).entries[0]?.action,
    )
    expect(present).toBe('already-present')
    expect(conflicting).toBe('conflicting-ID')
  })

  test('on a single linux/amd64 manifest copies it, with no index', () => {
    const plan = planned(buildPlan(entries('- source: "busybox:1"', '  amd64Only: true'), [imageObservation(dg('img'), AMD64, null)], META))
    expect(plan.entries[0]).toMatchObject({
      sourceDigest: dg('img'),
      platforms: ['linux/amd64'],
      selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: null},
      bytes: 1000,
    })
    expectValidPlan(plan)
  })

  test('with a digest pin of a single amd64 manifest is allowed (that one manifest is what was asked for)', () => {
    const IMG = dg('img')
    const plan = planned(buildPlan(entries(`- source: "busybox@${IMG}"`, '  tag: "1"', '  amd64Only: true'), [imageObservation(IMG, AMD64, null)], META))
    expect(plan.entries[0]?.sourceDigest).toBe(IMG)
  })
})

describe('buildPlan: failures', () => {
  const cases: {name: string; lines: string[]; observation: Observation; kind: string; message: string | RegExp}[] = [
    {
      name: 'amd64Only on an index without linux/amd64 names the platforms it has',
      lines: ['- source: "busybox:1"', '  amd64Only: true'],
      observation: indexObservation([child(ARM64, ARM64_CHILD), child(ARMV7, ARMV7_CHILD), child(UNKNOWN, ATTESTATION)], null),
      kind: 'no-linux-amd64',
      message: 'amd64Only is set but the index of busybox:1 has no linux/amd64 manifest (it has linux/arm64/v8, linux/arm/v7)',
    },
    {
      name: 'amd64Only on an index whose amd64 entry is itself an index',
      lines: ['- source: "busybox:1"', '  amd64Only: true'],
      observation: indexObservation([child(AMD64, dg('nested'), MediaType.OciIndex), child(ARM64, ARM64_CHILD)], null),
      kind: 'no-linux-amd64',
      message: /has no linux\/amd64 manifest/,
    },
    {
      name: 'amd64Only on a windows/amd64 manifest',
      lines: ['- source: "busybox:1"', '  amd64Only: true'],
      observation: imageObservation(dg('img'), {os: 'windows', architecture: 'amd64'}, null),
      kind: 'not-linux-amd64',
      message: 'amd64Only is set but busybox:1 is a single manifest for windows/amd64, not linux/amd64',
    },
    {
      name: 'amd64Only on a single arm64 manifest',
      lines: ['- source: "busybox:1"', '  amd64Only: true'],
      observation: imageObservation(dg('img'), ARM64, null),
      kind: 'not-linux-amd64',
      message: 'amd64Only is set but busybox:1 is a single manifest for linux/arm64/v8, not linux/amd64',
    },
    {
      name: 'amd64Only on a single manifest of unknown platform',
      lines: ['- source: "busybox:1"', '  amd64Only: true'],
      observation: imageObservation(dg('img'), null, null),
      kind: 'not-linux-amd64',
      message: 'amd64Only is set but busybox:1 is a single manifest for an unknown platform, not linux/amd64',
    },
    {
      name: 'a digest pin of a single-platform manifest without amd64Only',
      lines: [`- source: "busybox@${AMD64_CHILD}"`, '  tag: "1.32.0-v1"'],
      observation: imageObservation(AMD64_CHILD, AMD64, null),
      kind: 'single-platform-pin',
      message: `${AMD64_CHILD} is a single-platform manifest (linux/amd64), not a multi-platform index: it is a container image (its config is an image config), and copying it alone would leave out the image's other platforms; pin the index digest that the tag resolves to, or set amd64Only: true to copy this one manifest`,
    },
    {
      name: 'an unreachable source carries its reason and message',
      lines: ['- source: "busybox:1"'],
      observation: {kind: 'unreachable', reason: 'source-not-found', message: 'tag 1 does not exist in docker.io/library/busybox'},
      kind: 'source-not-found',
      message: 'tag 1 does not exist in docker.io/library/busybox',
    },
    {
      name: 'an auth failure carries its reason and message',
      lines: ['- source: "busybox:1"'],
      observation: {kind: 'unreachable', reason: 'auth', message: 'docker.io: the token service refused access'},
      kind: 'auth',
      message: 'docker.io: the token service refused access',
    },
  ]
  for (const {name, lines, observation, kind, message} of cases) {
    test(name, () => {
      const failures = failed(buildPlan(entries(...lines), [observation], META))
      expect(failures).toHaveLength(1)
      expect(failures[0]?.kind).toBe(kind as never)
      expect(failures[0]?.line).toBe(3)
      expect(failures[0]?.source).toBe(lines[0]!.replace(/^- source: "(.*)"$/, '$1'))
      if (typeof message === 'string') expect(failures[0]?.message).toBe(message)
      else expect(failures[0]?.message).toMatch(message)
    })
  }

  test('every failure is reported, in definition order, not only the first', () => {
    const defs = entries(
      '- source: "busybox:1"', // 3: fine
      '- source: "alpine:3"', // 4: unreachable
      '  amd64Only: true',
      '- source: "redis:7"', // 6: no amd64
      '  amd64Only: true',
      '- source: "nginx:1"', // 8: fine
      '- source: "postgres:16"', // 9: network
    )
    const failures = failed(
      buildPlan(
        defs,
        [
          indexObservation(BUILDX_INDEX, null),
          {kind: 'unreachable', reason: 'registry', message: 'HTTP 500'},
          indexObservation([child(ARM64, ARM64_CHILD)], null),
          imageObservation(dg('nginx'), AMD64, null),
          {kind: 'unreachable', reason: 'network', message: 'timed out'},
        ],
        META,
      ),
    )
    expect(failures.map((f) => [f.line, f.source, f.kind])).toStrictEqual([
      [4, 'alpine:3', 'registry'],
      [6, 'redis:7', 'no-linux-amd64'],
      [9, 'postgres:16', 'network'],
    ])
  })

  test('entries and observations of different lengths are a programming error', () => {
    expect(() => buildPlan(entries('- source: "busybox:1"'), [], META)).toThrow('1 entries but 0 observations')
  })
})

describe('buildPlan: the plan', () => {
  test('carries the meta, format version and summary counts, and validates against PlanSchema', () => {
    const defs = entries(
      '- source: "a/one:1"',
      '- source: "a/two:1"',
      '- source: "a/three:1"',
      '- source: "a/four:1"',
      '  amd64Only: true',
      '- source: "a/five:1"',
    )
    const observations: Observation[] = [
      indexObservation(BUILDX_INDEX, null, dg('one')),
      imageObservation(dg('two'), AMD64, dg('two')),
      indexObservation(BUILDX_INDEX, dg('elsewhere'), dg('three')),
      indexObservation(BUILDX_INDEX, null, dg('four')),
      indexObservation(BUILDX_INDEX, dg('five'), dg('five')),
    ]
    const plan = planned(buildPlan(defs, observations, META))
    expect(plan.formatVersion).toBe(PLAN_FORMAT_VERSION)
    expect(plan.tool).toStrictEqual(META.tool)
    expect(plan.createdAt).toBe(META.createdAt)
    expect(plan.definition).toStrictEqual(META.definition)
    expect(plan.targetRepoPrefix).toBe(PREFIX)
    expect(plan.entries.map((e) => [e.source, e.action])).toStrictEqual([
      ['a/one:1', 'to-copy'],
      ['a/two:1', 'already-present'],
      ['a/three:1', 'conflicting-ID'],
      ['a/four:1', 'to-copy'],
      ['a/five:1', 'already-present'],
    ])
    expect(plan.summary).toStrictEqual({toCopy: 2, alreadyPresent: 2, conflicting: 1, signatureFailures: 0})
    expectValidPlan(plan)
  })

  test('an empty definition gives an empty, valid plan', () => {
    const plan = planned(buildPlan([], [], META))
    expect(plan.entries).toStrictEqual([])
    expect(plan.summary).toStrictEqual({toCopy: 0, alreadyPresent: 0, conflicting: 0, signatureFailures: 0})
    expectValidPlan(plan)
  })

  test('PlanSchema is able to reject (the validity check above can fail)', () => {
    const plan = planned(buildPlan(entries('- source: "busybox:1"'), [indexObservation(BUILDX_INDEX, null)], META))
    expect(Value.Check(PlanSchema, {...plan, entries: [{...plan.entries[0], action: 'copy'}]})).toBe(false)
    expect(Value.Check(PlanSchema, {...plan, entries: [{...plan.entries[0], sourceDigest: 'sha256:abc'}]})).toBe(false)
  })
})

describe('registry text recorded in the plan', () => {
  /** What a terminal may act on: C0 but newline, DEL, C1. */
  const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/

  test('platforms, the picked media type, signature reasons and signer identities are recorded printable', () => {
    const hostile = {os: 'linux\x1b]0;pwned\x07', architecture: 'arm64\u009b2J'}
    const policy: PolicyRecord = {...NO_POLICY, identities: [{issuer: 'https://issuer', subject: {kind: 'regexp', pattern: '.*'}}]}
    const observed = (manifests: Descriptor[], digest: Digest, signatures: Extract<Observation, {kind: 'observed'}>['signatures']): Observation => ({
      kind: 'observed',
      source: {digest, mediaType: MediaType.OciIndex, content: {kind: 'index', manifests}},
      targetDigest: null,
      signatures,
    })
    const signed = observed([child(AMD64, AMD64_CHILD), child(hostile, ARM64_CHILD)], INDEX, {
      policy,
      verdicts: [
        {kind: 'verified', signer: {kind: 'identity', subject: 'ci\x1b[8m@evil', issuer: 'https://issuer\x7f'}, source: 'referrer', claim: {kind: 'signature'}},
      ],
      attestations: [],
    })
    const picked = observed([child(AMD64, AMD64_CHILD, `${MediaType.OciManifest}; x="\x1b[2J"`)], dg('other-index'), {
      policy,
      verdicts: [{kind: 'failed', reason: 'DENIED: \x1b[31mno\x1b[0m', source: 'tag sha256-x.sig', claim: {kind: 'signature'}}],
      attestations: [],
    })
    const plan = planned(buildPlan(entries('- source: "a/one:1"', '- source: "a/two:1"\n  amd64Only: true'), [signed, picked], META))
    const [whole, amd64] = plan.entries
    expect(whole!.platforms).toStrictEqual(['linux/amd64', 'linux\\x1b]0;pwned\\x07/arm64\\x9b2J'])
    expect(whole!.signature.signers).toStrictEqual([{kind: 'identity', subject: 'ci\\x1b[8m@evil', issuer: 'https://issuer\\x7f'}])
    expect(amd64!.mediaType).toBe(MediaType.OciManifest)
    expect(amd64!.signature.reasons).toStrictEqual(['tag sha256-x.sig: DENIED: \\x1b[31mno\\x1b[0m'])
    expect(JSON.stringify(plan)).not.toMatch(/\\u00(1b|07)|\\u007f/)
    expect(serializePlan(plan)).not.toMatch(RAW_CONTROL)
    expectValidPlan(plan)
  })

  test('the plan file escapes whatever control character a plan holds, losslessly', () => {
    const plan = planned(buildPlan(entries('- source: "busybox:1"'), [indexObservation(BUILDX_INDEX, null)], META))
    const edited = {...plan, entries: [{...plan.entries[0]!, platforms: ['linux\u009b31m/amd64\u202e', 'a\x1bb']}]}
    const text = serializePlan(edited)
    expect(text).not.toMatch(RAW_CONTROL)
    expect(text).not.toContain('\u202e')
    expect(JSON.parse(text)).toStrictEqual(edited)
  })
})
