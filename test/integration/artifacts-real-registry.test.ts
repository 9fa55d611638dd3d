/**
 * OCI artifacts through the CLI against real docker-registry processes (issue 15, item 8): an untagged Helm
 * chart and an untagged `artifactType` artifact, pinned by digest with `tag:`, are planned (the table and the
 * Markdown say what each is instead of platforms) and applied with every digest unchanged; an artifact by tag
 * is planned and applied too. A pinned single container image without amd64Only is still refused.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {type Artifact, HELM_CONFIG, makeHelmChart, makeTypedArtifact, pushArtifact} from '../support/artifacts.ts'
import {getManifest, headManifest} from '../support/images.ts'
import {runCli, type Scenario, startScenario} from './scenario.ts'

setDefaultTimeout(60_000)

const SBOM_TYPE = 'application/vnd.example.sbom.v1+json'

let s: Scenario
const chart = makeHelmChart('nginx', '15.0.0')
const typed = makeTypedArtifact(SBOM_TYPE, 'sbom-1')
const tagged = makeHelmChart('redis', '18.1.0')
beforeAll(async () => {
  s = await startScenario()
  // Untagged: only the digest reaches them, as with a chart a registry keeps after its tag moved on.
  await pushArtifact(s.source.url, 'charts/nginx', chart)
  await pushArtifact(s.source.url, 'acme/sbom', typed)
  await pushArtifact(s.source.url, 'charts/redis', tagged, '18.1.0')
})
afterAll(async () => {
  await s?.stop()
})

const plan = (def: string, out: string, ...extra: string[]) => runCli(['plan', '-i', def, '-o', out, '--mirror', s.mirrorFlag, ...extra])
const apply = (planPath: string) => runCli(['apply', planPath, '--mirror', s.mirrorFlag, '--format', 'json'])

/** The target holds `artifact` under `reference`: the manifest byte for byte, and every blob under its digest. */
async function expectMirrored(repo: string, reference: string, artifact: Artifact): Promise<void> {
  const got = await getManifest(s.target.url, `mirror/${repo}`, reference)
  expect(got.status).toBe(200)
  expect(got.digest).toBe(artifact.digest)
  expect(Buffer.from(got.bytes).equals(Buffer.from(artifact.bytes))).toBe(true)
  for (const blob of [artifact.config, ...artifact.layers]) {
    const response = await fetch(`${s.target.url}/v2/mirror/${repo}/blobs/${blob.digest}`)
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(blob.bytes))).toBe(true)
  }
}

/** Plans `lines` in table and Markdown form, then applies the plan; returns what plan printed and the plan. */
async function planAndApply(name: string, lines: string[]) {
  const def = await s.definition(`${name}.yaml`, lines.join('\n'))
  const out = join(s.dir, `${name}.plan.json`)
  const table = await plan(def, out)
  expect(table.stderr).not.toContain('rror')
  expect(table.exitCode).toBe(0)
  const markdown = await plan(def, out, '--format', 'markdown')
  expect(markdown.exitCode).toBe(0)
  const planned = await readPlan(out)
  const applied = await apply(out)
  expect(applied.exitCode).toBe(0)
  expect(JSON.parse(applied.stdout).summary).toMatchObject({copied: 1, failed: 0})
  return {table: table.stdout, markdown: markdown.stdout, planned}
}

describe('OCI artifacts against real registries', () => {
  test('an untagged Helm chart pinned by digest is planned as a Helm artifact and mirrored digest-exactly', async () => {
    const {table, markdown, planned} = await planAndApply('helm-pin', [`- source: "charts/nginx@${chart.digest}"`, '  tag: "15.0.0"'])
    expect(planned.entries[0]).toMatchObject({
      sourceDigest: chart.digest,
      platforms: [],
      artifactType: HELM_CONFIG,
      selection: {kind: 'whole'},
      action: 'to-copy',
    })
    expect(table).toContain(`artifact: ${HELM_CONFIG}`)
    expect(markdown).toContain(`| \`artifact: ${HELM_CONFIG}\` |`)
    await expectMirrored('charts/nginx', '15.0.0', chart)
    // Mirrored: a second plan finds it present.
    const out = join(s.dir, 'helm-pin-again.plan.json')
    expect((await plan(join(s.dir, 'helm-pin.yaml'), out)).exitCode).toBe(0)
    expect((await readPlan(out)).summary).toMatchObject({toCopy: 0, alreadyPresent: 1})
  })

  test('an untagged artifactType artifact pinned by digest is planned by its artifactType and mirrored digest-exactly', async () => {
    const {table, markdown, planned} = await planAndApply('typed-pin', [`- source: "acme/sbom@${typed.digest}"`, '  tag: "1"'])
    expect(planned.entries[0]).toMatchObject({sourceDigest: typed.digest, platforms: [], artifactType: SBOM_TYPE, selection: {kind: 'whole'}})
    expect(table).toContain(`artifact: ${SBOM_TYPE}`)
    expect(markdown).toContain(`| \`artifact: ${SBOM_TYPE}\` |`)
    await expectMirrored('acme/sbom', '1', typed)
  })

  test('a Helm chart by tag is planned as a Helm artifact and mirrored under its tag', async () => {
    const {table, planned} = await planAndApply('helm-tag', ['- source: "charts/redis:18.1.0"'])
    expect(planned.entries[0]).toMatchObject({sourceDigest: tagged.digest, platforms: [], artifactType: HELM_CONFIG})
    expect(table).toContain(`artifact: ${HELM_CONFIG}`)
    await expectMirrored('charts/redis', '18.1.0', tagged)
  })

  test('a single container image pinned by digest without amd64Only is still refused, and nothing is written', async () => {
    const def = await s.definition('image-pin.yaml', [`- source: "library/single@${s.images.single.digest}"`, '  tag: "pinned"'].join('\n'))
    const run = await plan(def, join(s.dir, 'image-pin.plan.json'))
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain(`${s.images.single.digest} is a single-platform manifest (linux/amd64), not a multi-platform index: it is a container image`)
    expect((await headManifest(s.target.url, 'mirror/library/single', 'pinned')).status).toBe(404)
  })
})
