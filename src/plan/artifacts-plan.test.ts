/**
 * Artifacts in the planner (issue 15, item 8): a single manifest that is no container image (a Helm chart, an
 * `artifactType` artifact) has no platform, so it may be pinned by digest alone and the plan says what it is;
 * a pinned single *image* manifest is still refused, and a platform asked of an artifact is an entry error.
 */
import {describe, expect, test} from 'bun:test'
import {MediaType} from '../oci/media-types.ts'
import type {Digest} from '../ref/digest.ts'
import {dg, planLines, plannedLines, POLICY} from '../../test/support/plans.ts'
import {planInconsistencies} from './consistency.ts'
import type {Plan} from './model.ts'
import type {Observation, SourceContent} from './observation.ts'
import {parsePlan, serializePlan} from './planfile.ts'

const PREFIX = 'registry.example/mirror/'
const CHART = dg('chart')
const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'

function observed(content: SourceContent, digest: Digest = CHART): Observation {
  return {
    kind: 'observed',
    source: {digest, mediaType: MediaType.OciManifest, content},
    targetDigest: null,
    signatures: {policy: POLICY, verdicts: [], attestations: []},
  }
}
const chart = (artifactType = HELM_CONFIG) => observed({kind: 'artifact', artifactType, bytes: 4096})

const plan = (lines: string[], observations: Observation[]) => planLines(PREFIX, lines, observations)
const planned = (lines: string[], observations: Observation[]): Plan => plannedLines(PREFIX, lines, observations)

function failure(lines: string[], observations: Observation[]) {
  const result = plan(lines, observations)
  if (result.kind !== 'failed') throw new Error(`want a failure, got ${JSON.stringify(result.plan.entries)}`)
  return result.failures[0]!
}

describe('artifacts in the plan', () => {
  test('a Helm chart pinned by digest is planned whole, named by its config media type, without platforms', () => {
    const p = planned([`- source: "charts/nginx@${CHART}"`, '  tag: "15.0.0"'], [chart()])
    expect(p.entries[0]).toMatchObject({
      sourceDigest: CHART,
      platforms: [],
      artifactType: HELM_CONFIG,
      selection: {kind: 'whole'},
      bytes: 4096,
      action: 'to-copy',
    })
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
    expect(f.message).toBe(
      `${dg('img')} is a single-platform manifest, not a multi-platform index: it is a container image (its config is an image config), and copying it alone would leave out the image's other platforms; pin the index digest that the tag resolves to, or set amd64Only: true to copy this one manifest`,
    )
  })

  test('amd64Only or platforms on an artifact is an entry error saying it has no platforms', () => {
    const one = failure([`- source: "charts/nginx@${CHART}"`, '  tag: "15.0.0"', '  amd64Only: true'], [chart()])
    expect(one).toMatchObject({
      kind: 'not-linux-amd64',
      message: `amd64Only is set but charts/nginx@${CHART} is an artifact (${HELM_CONFIG}), not a container image: it has no platforms to pick; only a whole copy (neither amd64Only nor platforms) mirrors it`,
    })
    const several = failure(['- source: "charts/nginx:15"', '  platforms: [linux/amd64, linux/arm64]'], [chart()])
    expect(several).toMatchObject({
      kind: 'not-platform',
      message: expect.stringContaining('platforms is [linux/amd64, linux/arm64] but charts/nginx:15 is an artifact'),
    })
  })

  test('the file-wide platforms are a default for images: an artifact next to them is copied whole, an image gets the subset', () => {
    const index = observed(
      {
        kind: 'index',
        manifests: [
          {mediaType: MediaType.OciManifest, digest: dg('amd'), size: 1, platform: {os: 'linux', architecture: 'amd64'}},
          {mediaType: MediaType.OciManifest, digest: dg('arm'), size: 1, platform: {os: 'linux', architecture: 'arm64'}},
          {mediaType: MediaType.OciManifest, digest: dg('s390'), size: 1, platform: {os: 'linux', architecture: 's390x'}},
        ],
      } as SourceContent,
      dg('idx'),
    )
    const p = plannedLines(
      PREFIX,
      [`- source: "charts/nginx@${CHART}"`, '  tag: "15.0.0"', '- source: "busybox:1"'],
      [chart(), index],
      ['platforms: [linux/amd64, linux/arm64]'],
    )
    expect(p.entries[0]).toMatchObject({sourceDigest: CHART, artifactType: HELM_CONFIG, selection: {kind: 'whole'}})
    expect(p.entries[1]!.selection).toMatchObject({kind: 'platforms', platforms: ['linux/amd64', 'linux/arm64']})
  })

  test('a hostile artifactType is recorded printable and cut, and the plan still validates', () => {
    const p = planned(['- source: "acme/x:1"'], [chart(`application/\u001b[31m${'x'.repeat(5000)}`)])
    const recorded = p.entries[0]!.artifactType!
    expect(recorded.startsWith('application/\\x1b[31mxxx')).toBe(true)
    expect(recorded.length).toBeLessThan(300)
    expect(parsePlan('p.json', serializePlan(p))).toEqual(p)
  })
})
