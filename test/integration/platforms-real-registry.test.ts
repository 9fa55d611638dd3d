/**
 * Platform subsets (issue 9) through the CLI against real docker-registry processes: a 3-platform index with
 * buildx attestations subset to 2 lands as the planned index (skopeo, a client we did not write, reads exactly
 * 2 platforms and their attestations), children keep their digests, a second plan is already-present; a
 * missing platform is an entry error naming what is offered; amd64Only still copies the amd64 manifest alone;
 * an edited plan is refused by consistency and by `--definition`.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {headManifest, type Index, makeIndex, pushIndex} from '../support/images.ts'
import {skopeo} from '../support/skopeo.ts'
import {runCli, type Scenario, startScenario} from './scenario.ts'

setDefaultTimeout(60_000)

const AMD64 = {os: 'linux', architecture: 'amd64'}
const ARM64 = {os: 'linux', architecture: 'arm64', variant: 'v8'}
const ARMV7 = {os: 'linux', architecture: 'arm', variant: 'v7'}
const ANNOTATIONS = {'org.opencontainers.image.source': 'https://example.invalid/three'}

let s: Scenario
let three: Index
beforeAll(async () => {
  s = await startScenario()
  three = makeIndex({flavor: 'oci', platforms: [AMD64, ARM64, ARMV7], attestation: true, annotations: ANNOTATIONS})
  await pushIndex(s.source.url, 'acme/three', three, '1.0')
})
afterAll(async () => {
  await s?.stop()
})

async function targetDigest(repo: string, reference: string): Promise<string | null> {
  const head = await headManifest(s.target.url, `mirror/${repo}`, reference)
  return head.status === 200 ? head.digest : null
}

const plan = (def: string, out: string) => runCli(['plan', '-i', def, '-o', out, '--mirror', s.mirrorFlag])
const apply = (planPath: string, ...extra: string[]) => runCli(['apply', planPath, '--mirror', s.mirrorFlag, '--format', 'json', ...extra])

describe('platform subsets against real registries', () => {
  test('3 platforms subset to 2: the planned index lands, exactly 2 platforms and their attestations, children unchanged; a second plan is present', async () => {
    const def = await s.definition(
      'subset.yaml',
      ['- source: "acme/three:1.0"', '  platforms: [linux/amd64, linux/arm64]', '- source: "acme/three:1.0"', '  tag: "1.0-amd64"', '  amd64Only: true'].join(
        '\n',
      ),
    )
    const out = join(s.dir, 'subset.plan.json')
    expect((await plan(def, out)).exitCode).toBe(0)
    const planned = await readPlan(out)
    const [subset, amd64Only] = planned.entries
    if (subset?.selection.kind !== 'platforms') throw new Error(`want a platforms selection, got ${JSON.stringify(subset?.selection)}`)
    expect(subset.selection).toMatchObject({platforms: ['linux/amd64', 'linux/arm64'], indexDigest: three.digest})
    expect(subset.sourceDigest).toBe(subset.selection.digest)
    expect(subset.selection.digest).not.toBe(three.digest)

    const applied = await apply(out, '--definition', def)
    expect(applied.exitCode).toBe(0)
    expect(JSON.parse(applied.stdout).summary).toMatchObject({copied: 2, failed: 0})

    // The tag holds exactly the index the plan recorded, as skopeo reads it.
    expect(await targetDigest('acme/three', '1.0')).toBe(subset.selection.digest)
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${s.target.host}/mirror/acme/three:1.0`])
    expect(new Bun.CryptoHasher('sha256').update(raw).digest('hex')).toBe(subset.selection.digest.slice('sha256:'.length))
    const index = JSON.parse(new TextDecoder().decode(raw)) as {
      mediaType: string
      annotations: unknown
      manifests: Array<{digest: string; platform: {architecture: string}}>
    }
    const [amd64, arm64, armv7] = three.children
    const [attAmd64, attArm64] = three.attestations
    expect(index.mediaType).toBe(three.mediaType)
    expect(index.annotations).toEqual(ANNOTATIONS)
    expect(index.manifests.map((d) => d.digest)).toEqual([amd64!.digest, arm64!.digest, attAmd64!.digest, attArm64!.digest])
    expect(index.manifests.filter((d) => d.platform.architecture !== 'unknown')).toHaveLength(2)
    // Each kept child is there under its own digest; the dropped platform and its attestation are not.
    for (const child of [amd64!, arm64!, attAmd64!, attArm64!]) expect(await targetDigest('acme/three', child.digest)).toBe(child.digest)
    expect(await targetDigest('acme/three', armv7!.digest)).toBeNull()
    expect(await targetDigest('acme/three', three.digest)).toBeNull()
    // amd64Only means what it meant: the amd64 manifest alone under its tag.
    expect(amd64Only).toMatchObject({sourceDigest: amd64!.digest, selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: three.digest}})
    expect(await targetDigest('acme/three', '1.0-amd64')).toBe(amd64!.digest)

    expect((await plan(def, out)).exitCode).toBe(0)
    expect((await readPlan(out)).summary).toEqual({toCopy: 0, alreadyPresent: 2, conflicting: 0, signatureFailures: 0})
  })

  test('a platform the source lacks is an entry error naming what the index offers', async () => {
    const def = await s.definition('missing.yaml', ['- source: "acme/three:1.0"', '  tag: "missing"', '  platforms: [linux/amd64, linux/s390x]'].join('\n'))
    const run = await plan(def, join(s.dir, 'missing.plan.json'))
    expect(run.exitCode).toBe(1)
    expect(run.stdout + run.stderr).toContain(
      'platforms asks for linux/s390x, which the index of acme/three:1.0 does not have (it has linux/amd64, linux/arm64/v8, linux/arm/v7)',
    )
  })

  test('an edited platforms list or digest is refused, and nothing is written', async () => {
    const def = await s.definition('edited.yaml', ['- source: "acme/three:1.0"', '  tag: "edited"', '  platforms: [linux/amd64, linux/arm/v7]'].join('\n'))
    const out = join(s.dir, 'edited.plan.json')
    expect((await plan(def, out)).exitCode).toBe(0)
    const text = await Bun.file(out).text()
    const planned = await readPlan(out)
    const selection = planned.entries[0]!.selection
    if (selection.kind !== 'platforms') throw new Error('want a platforms selection')

    // Both lists edited alike: the plan holds together, but it is not what the definition makes.
    const platforms = join(s.dir, 'edited-platforms.plan.json')
    await writeFile(platforms, text.replaceAll('"linux/arm/v7"', '"linux/arm64"'))
    const byDefinition = await apply(platforms, '--definition', def)
    expect(byDefinition.exitCode).toBe(1)
    expect(byDefinition.stderr).toContain('the plan copies an index of linux/amd64, linux/arm64, the definition asks for an index of linux/amd64, linux/arm/v7')
    // Alone, apply computes the index again and refuses one that is not the recorded digest.
    const alone = await apply(platforms)
    expect(alone.exitCode).toBe(1)
    expect(alone.stdout + alone.stderr).toContain(`not the planned ${selection.digest}: nothing was copied; plan again`)

    // A recorded digest edited (with sourceDigest): apply computes another one and writes nothing.
    const digest = join(s.dir, 'edited-digest.plan.json')
    const forged = `sha256:${'e'.repeat(64)}`
    await writeFile(digest, text.replaceAll(selection.digest, forged))
    const refused = await apply(digest)
    expect(refused.exitCode).toBe(1)
    expect(refused.stdout + refused.stderr).toContain(`is ${selection.digest}, not the planned ${forged}`)
    expect(await targetDigest('acme/three', 'edited')).toBeNull()
  })
})
