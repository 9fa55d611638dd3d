/**
 * Artifacts in the planner (issue 15, item 8): a single manifest that is no container image (a Helm chart, an
 * `artifactType` artifact) has no platform, so it may be pinned by digest alone and the plan says what it is;
 * a pinned single *image* manifest is still refused, and a platform asked of an artifact is an entry error.
 */
import {describe, expect, test} from 'bun:test'
import {parseDefinition} from '../definition/load.ts'
import {MediaType} from '../oci/media-types.ts'
import type {Digest} from '../ref/digest.ts'
import {buildPlan} from './build.ts'
import {planInconsistencies} from './consistency.ts'
import type {Plan} from './model.ts'
import type {Observation, SourceContent} from './observation.ts'
import {parsePlan, serializePlan} from './planfile.ts'
import type {PolicyRecord} from './signature-record.ts'

const PREFIX = 'registry.example/mirror/'
const dg = (name: string): Digest => `sha256:${new Bun.CryptoHasher('sha256').update(name).digest('hex')}`
const CHART = dg('chart')
const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'
const POLICY: PolicyRecord = {verify: 'if-present', keys: [], identities: [], trustedRoot: {kind: 'public-good'}, copy: true, sign: null, attestations: []}
const META = {tool: {name: 'image-syncer', version: 'test'}, createdAt: '2026-01-01T00:00:00.000Z', definition: {path: 'images.yaml', sha256: dg('definition')}, targetRepoPrefix: PREFIX}

function observed(content: SourceContent, digest: Digest = CHART): Observation {
  return {kind: 'observed', source: {digest, mediaType: MediaType.OciManifest, content}, targetDigest: null, signatures: {policy: POLICY, verdicts: [], attestations: []}}
}
const chart = (artifactType = HELM_CONFIG) => observed({kind: 'artifact', artifactType, bytes: 4096})

function plan(lines: string[], observations: Observation[]) {
  const text = `targetRepoPrefix: "${PREFIX}"\nimages:\n${lines.join('\n')}\n`
  const entries = parseDefinition('images.yaml', text, dg('definition')).entries.map(({signatures: {keyFiles: _, ...policy}, ...entry}) => ({...entry, signatures: {...policy, keys: [], attestations: []}}))
  return buildPlan(entries, observations, META)
}

function planned(lines: string[], observations: Observation[]): Plan {
  const result = plan(lines, observations)
  if (result.kind !== 'planned') throw new Error(JSON.stringify(result.failures))
  return result.plan
}

function failure(lines: string[], observations: Observation[]) {
  const result = plan(lines, observations)
  if (result.kind !== 'failed') throw new Error(`want a failure, got ${JSON.stringify(result.plan.entries)}`)
  return result.failures[0]!
}

describe('artifacts in the plan', () => {
  test('a Helm chart pinned by digest is planned whole, named by its config media type, without platforms', () => {
    const p = planned([`- source: "charts/nginx@${CHART}"`, '  tag: "15.0.0"'], [chart()])
    expect(p.entries[0]).toMatchObject({sourceDigest: CHART, platforms: [], artifactType: HELM_CONFIG, selection: {kind: 'whole'}, bytes: 4096, action: 'to-copy'})
    // What plan writes, apply reads back: the field is part of the schema and the plan holds together.
    expect(parsePlan('p.json', serializePlan(p))).toEqual(p)
    expect(planInconsistencies(p)).toEqual([])
  })

  test('an artifact by tag is named too; an image next to it records no artifactType, so its entry reads as before', () => {
    const image = observed({kind: 'image', platform: {os: 'linux', architecture: 'amd64'}, bytes: 1}, dg('img'))
    const p = planned(['- source: "acme/sbom:1"', '- source: "busybox:1"'], [chart('application/vnd.example.sbom+json'), image])
    expect(p.entries[0]).toMatchObject({platforms: [], artifactType: 'application/vnd.example.sbom+json'})
    expect('artifactType' in p.entries[1]!).toBe(false)
  })

  test('a pinned single image manifest without amd64Only is still refused, saying its config is an image config', () => {
    const f = failure([`- source: "busybox@${dg('img')}"`, '  tag: "1"'], [observed({kind: 'image', platform: null, bytes: 1}, dg('img'))])
    expect(f.kind).toBe('single-platform-pin')
    expect(f.message).toBe(`${dg('img')} is a single-platform manifest, not a multi-platform index: it is a container image (its config is an image config), and copying it alone would leave out the image's other platforms; pin the index digest that the tag resolves to, or set amd64Only: true to copy this one manifest`)
  })

  test('amd64Only or platforms on an artifact is an entry error saying it has no platforms', () => {
    const one = failure([`- source: "charts/nginx@${CHART}"`, '  tag: "15.0.0"', '  amd64Only: true'], [chart()])
    expect(one).toMatchObject({kind: 'not-linux-amd64', message: `amd64Only is set but charts/nginx@${CHART} is an artifact (${HELM_CONFIG}), not a container image: it has no platforms to pick; only a whole copy (neither amd64Only nor platforms) mirrors it`})
    const several = failure(['- source: "charts/nginx:15"', '  platforms: [linux/amd64, linux/arm64]'], [chart()])
    expect(several).toMatchObject({kind: 'not-platform', message: expect.stringContaining('platforms is [linux/amd64, linux/arm64] but charts/nginx:15 is an artifact')})
  })

  test('the file-wide platforms are a default for images: an artifact next to them is copied whole, an image gets the subset', () => {
    const index = observed({kind: 'index', manifests: [
      {mediaType: MediaType.OciManifest, digest: dg('amd'), size: 1, platform: {os: 'linux', architecture: 'amd64'}},
      {mediaType: MediaType.OciManifest, digest: dg('arm'), size: 1, platform: {os: 'linux', architecture: 'arm64'}},
      {mediaType: MediaType.OciManifest, digest: dg('s390'), size: 1, platform: {os: 'linux', architecture: 's390x'}},
    ]} as SourceContent, dg('idx'))
    const text = `targetRepoPrefix: "${PREFIX}"\nplatforms: [linux/amd64, linux/arm64]\nimages:\n- source: "charts/nginx@${CHART}"\n  tag: "15.0.0"\n- source: "busybox:1"\n`
    const entries = parseDefinition('images.yaml', text, dg('definition')).entries.map(({signatures: {keyFiles: _, ...policy}, ...entry}) => ({...entry, signatures: {...policy, keys: [], attestations: []}}))
    const result = buildPlan(entries, [chart(), index], META)
    if (result.kind !== 'planned') throw new Error(JSON.stringify(result.failures))
    expect(result.plan.entries[0]).toMatchObject({sourceDigest: CHART, artifactType: HELM_CONFIG, selection: {kind: 'whole'}})
    expect(result.plan.entries[1]!.selection).toMatchObject({kind: 'platforms', platforms: ['linux/amd64', 'linux/arm64']})
  })

  test('a hostile artifactType is recorded printable and cut, and the plan still validates', () => {
    const p = planned(['- source: "acme/x:1"'], [chart(`application/\u001b[31m${'x'.repeat(5000)}`)])
    const recorded = p.entries[0]!.artifactType!
    expect(recorded.startsWith('application/\\x1b[31mxxx')).toBe(true)
    expect(recorded.length).toBeLessThan(300)
    expect(parsePlan('p.json', serializePlan(p))).toEqual(p)
  })
})
