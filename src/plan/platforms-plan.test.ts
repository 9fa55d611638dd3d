/**
 * Platform subsets in the planner (issue 9): what the plan records for one and for several platforms, the
 * entry error naming what the index offers, the signature rule, and the consistency checks on the record.
 */
import {describe, expect, test} from 'bun:test'
import {dg, planLines, plannedLines, POLICY} from '../../test/support/plans.ts'
import type {Descriptor} from '../oci/manifest.ts'
import {MediaType} from '../oci/media-types.ts'
import {subsetIndex} from '../oci/subset-index.ts'
import type {Digest} from '../ref/digest.ts'
import type {CandidateVerdict} from '../signatures/types.ts'
import {planInconsistencies} from './consistency.ts'
import type {Plan, PlanEntry} from './model.ts'
import type {Observation} from './observation.ts'
import type {PolicyRecord} from './signature-record.ts'

const PREFIX = 'registry.example/mirror/'
const INDEX = dg('index')
const [AMD64, ARM64, ARMV7, ATT_AMD64, ATT_ARM64, ATT_ARMV7] = ['amd64', 'arm64', 'armv7', 'att-amd64', 'att-arm64', 'att-armv7'].map(dg) as [
  Digest,
  Digest,
  Digest,
  Digest,
  Digest,
  Digest,
]
const image = (digest: Digest, architecture: string, variant?: string): Descriptor => ({
  mediaType: MediaType.OciManifest,
  digest,
  size: 10,
  platform: {os: 'linux', architecture, ...(variant ? {variant} : {})},
})
const attestation = (digest: Digest, about: Digest): Descriptor => ({
  mediaType: MediaType.OciManifest,
  digest,
  size: 20,
  annotations: {'vnd.docker.reference.digest': about, 'vnd.docker.reference.type': 'attestation-manifest'},
  platform: {os: 'unknown', architecture: 'unknown'},
})
const MANIFESTS = [
  image(AMD64, 'amd64'),
  image(ARM64, 'arm64', 'v8'),
  image(ARMV7, 'arm', 'v7'),
  attestation(ATT_AMD64, AMD64),
  attestation(ATT_ARM64, ARM64),
  attestation(ATT_ARMV7, ARMV7),
]
const ANNOTATIONS = {'org.opencontainers.image.revision': 'abc'}

function observed(targetDigest: Digest | null, verdicts: CandidateVerdict[] = [], policy: PolicyRecord = POLICY): Observation {
  return {
    kind: 'observed',
    source: {digest: INDEX, mediaType: MediaType.OciIndex, content: {kind: 'index', manifests: MANIFESTS, annotations: ANNOTATIONS}},
    targetDigest,
    signatures: {policy, verdicts, attestations: []},
  }
}

const plan = (lines: string[], observations: Observation[]) => planLines(PREFIX, lines, observations)
const planned = (lines: string[], observations: Observation[]): Plan => plannedLines(PREFIX, lines, observations)

const SUBSET = subsetIndex(MediaType.OciIndex, {manifests: MANIFESTS, annotations: ANNOTATIONS}, ['linux/amd64', 'linux/arm64'])
if (SUBSET.kind !== 'subset') throw new Error('fixture')

describe('buildPlan: platforms', () => {
  test('several platforms: the new index digest is the sourceDigest and selection.digest; the source index is indexDigest', () => {
    const [entry] = planned(['- source: "app:1"\n  platforms: [linux/amd64, linux/arm64]'], [observed(null)]).entries
    expect(entry).toMatchObject({
      sourceDigest: SUBSET.digest,
      mediaType: MediaType.OciIndex,
      platforms: ['linux/amd64', 'linux/arm64'],
      selection: {kind: 'platforms', platforms: ['linux/amd64', 'linux/arm64'], indexDigest: INDEX, digest: SUBSET.digest},
      action: 'to-copy',
    })
  })

  test('the target holding the new index is already-present; holding the source index is a conflict', () => {
    const lines = ['- source: "app:1"\n  platforms: [linux/amd64, linux/arm64]']
    expect(planned(lines, [observed(SUBSET.digest)]).entries[0]?.action).toBe('already-present')
    expect(planned(lines, [observed(INDEX)]).entries[0]?.action).toBe('conflicting-ID')
  })

  test('one platform other than amd64 is that manifest alone, picked by OCI matching', () => {
    const [entry] = planned(['- source: "app:1"\n  platforms: [linux/arm64]'], [observed(null)]).entries
    expect(entry).toMatchObject({sourceDigest: ARM64, platforms: ['linux/arm64'], selection: {kind: 'platform', platform: 'linux/arm64', indexDigest: INDEX}})
  })

  test('amd64Only and platforms: [linux/amd64] plan the same entry as before', () => {
    const a = planned(['- source: "app:1"\n  amd64Only: true'], [observed(null)]).entries[0]
    const b = planned(['- source: "app:1"\n  platforms: [linux/amd64]'], [observed(null)]).entries[0]
    expect(a).toEqual(b!)
    expect(a).toMatchObject({sourceDigest: AMD64, platforms: ['linux/amd64'], selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: INDEX}})
  })

  test('a platform the index lacks is an entry error naming what it offers', () => {
    expect(
      plan(['- source: "app:1"\n  platforms: [linux/amd64, linux/s390x]', '- source: "app:2"\n  platforms: [linux/arm/v6]'], [observed(null), observed(null)]),
    ).toEqual({
      kind: 'failed',
      failures: [
        {
          line: 3,
          source: 'app:1',
          kind: 'platform-missing',
          message: 'platforms asks for linux/s390x, which the index of app:1 does not have (it has linux/amd64, linux/arm64/v8, linux/arm/v7)',
        },
        {
          line: 5,
          source: 'app:2',
          kind: 'platform-missing',
          message: 'platforms is [linux/arm/v6] but the index of app:2 has no linux/arm/v6 manifest (it has linux/amd64, linux/arm64/v8, linux/arm/v7)',
        },
      ],
    })
  })

  test('several platforms of a single manifest is an entry error', () => {
    const single: Observation = {
      kind: 'observed',
      source: {digest: AMD64, mediaType: MediaType.OciManifest, content: {kind: 'image', platform: {os: 'linux', architecture: 'amd64'}, bytes: 1000}},
      targetDigest: null,
      signatures: {policy: POLICY, verdicts: [], attestations: []},
    }
    expect(plan(['- source: "app:1"\n  platforms: [linux/amd64, linux/arm64]'], [single])).toMatchObject({
      failures: [
        {
          kind: 'not-platform',
          message: 'platforms is [linux/amd64, linux/arm64] but app:1 is a single manifest for linux/amd64, not an index of several platforms',
        },
      ],
    })
  })
})

describe("buildPlan: a subset's signatures", () => {
  const KEYED: PolicyRecord = {...POLICY, keys: [{fingerprint: 'SHA256:test', pem: 'a key'}]}
  // The digest a verdict is about, as checkPolicy adds it.
  const verified = (digest: Digest): CandidateVerdict =>
    Object.assign(
      {kind: 'verified' as const, signer: {kind: 'key' as const, fingerprint: 'SHA256:test'}, source: 'referrer', claim: {kind: 'signature' as const}},
      {digest},
    )
  const lines = ['- source: "app:1"\n  platforms: [linux/amd64, linux/arm64]']
  test('a signature on the source index vouches for every kept manifest', () => {
    expect(planned(lines, [observed(null, [verified(INDEX)], KEYED)]).entries[0]?.signature.status).toBe('verified')
  })
  test('signatures on each kept platform manifest do too', () => {
    expect(planned(lines, [observed(null, [verified(AMD64), verified(ARM64)], KEYED)]).entries[0]?.signature.status).toBe('verified')
  })
  test('one signed platform does not vouch for another', () => {
    const signature = planned(lines, [observed(null, [verified(AMD64)], KEYED)]).entries[0]?.signature
    expect(signature?.status).toBe('failed')
    expect(signature?.reasons[0]).toBe(`neither the source index ${INDEX} nor every kept platform manifest has a verified signature (none on ${ARM64})`)
  })
})

describe('planInconsistencies: platforms', () => {
  const good = () =>
    planned(
      ['- source: "app:1"\n  platforms: [linux/amd64, linux/arm64]', `- source: "app@${INDEX}"\n  tag: "pinned"\n  platforms: [linux/amd64, linux/arm64]`],
      [observed(null), observed(null)],
    )
  const edited = (i: number, change: (e: PlanEntry) => Partial<PlanEntry>) => {
    const p = good()
    p.entries[i] = {...p.entries[i]!, ...change(p.entries[i]!)}
    return planInconsistencies(p)
  }
  const selection = (e: PlanEntry) => e.selection as Extract<PlanEntry['selection'], {kind: 'platforms'}>

  test('a plan as plan writes it holds together', () => expect(planInconsistencies(good())).toEqual([]))
  test('an edited platforms list is refused', () => {
    expect(edited(0, (e) => ({selection: {...selection(e), platforms: ['linux/amd64', 'linux/arm/v7']}}))).toEqual([
      expect.stringContaining('platforms "linux/amd64, linux/arm64" contradict the selection of the index of linux/amd64, linux/arm/v7'),
    ])
  })
  test('an edited selection digest is refused', () => {
    expect(edited(0, (e) => ({selection: {...selection(e), digest: dg('evil')}}))).toEqual([
      expect.stringContaining(`selection.digest ${dg('evil')} is not sourceDigest`),
    ])
  })
  test('a swapped source index under a digest pin is refused', () => {
    expect(edited(1, (e) => ({selection: {...selection(e), indexDigest: dg('evil')}}))).toEqual([
      expect.stringContaining(`selection.indexDigest ${dg('evil')} is not the digest the source pins (${INDEX})`),
    ])
  })
})
