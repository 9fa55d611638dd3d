/** The compiled standalone executable runs `plan` against real registries from any working directory. */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {builtBinary} from '../support/binary.ts'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {writeFile} from 'node:fs/promises'
import {headManifest} from '../support/images.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {classifiableEntries, runCli, type Scenario, startScenario} from '../integration/scenario.ts'

setDefaultTimeout(120_000)

let binary: string
let s: Scenario
let cwd: string

beforeAll(async () => {
  binary = builtBinary()
  s = await startScenario()
  cwd = await mkdtemp(join(tmpdir(), 'image-syncer-e2e-'))
})
afterAll(async () => {
  await s?.stop()
  if (cwd) await rm(cwd, {recursive: true, force: true})
})

describe('dist/image-syncer', () => {
  test('--version and --help work from another directory, without warnings', async () => {
    const version = await runCli(['--version'], {binary, cwd})
    expect(version.exitCode).toBe(0)
    expect(version.stdout).toMatch(/^image-syncer\/\d+\.\d+\.\d+ /)
    expect(version.stderr).toBe('')
    const help = await runCli(['plan', '--help'], {binary, cwd})
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toContain('--images-file')
    expect(help.stderr).toBe('')
  })

  test('plan classifies the scenario and writes the plan under the working directory', async () => {
    const def = await s.definition('e2e.yaml', classifiableEntries(s, true))
    const run = await runCli(['plan', '-i', def, '--mirror', s.mirrorFlag], {binary, cwd})
    expect(run.exitCode).toBe(1) // the scenario holds one conflict
    expect(run.stderr).toBe(`Plan written to plans/e2e.plan.json\n`)
    const plan = await readPlan(join(cwd, 'plans/e2e.plan.json'))
    expect(plan.summary).toEqual({toCopy: 7, alreadyPresent: 1, conflicting: 1, signatureFailures: 0})
    expect(plan.tool.name).toBe('image-syncer')
    expect(run.stdout).toContain('Plan: 7 to copy, 1 already present, 1 conflicting.')
  })

  test('an unknown command exits 2 and a bad definition exits 1 with its position', async () => {
    expect((await runCli(['nosuch'], {binary, cwd})).exitCode).toBe(2)
    const def = await s.definition('bad.yaml', `- source: "Multi:1.0"`)
    const run = await runCli(['plan', '-i', def], {binary, cwd})
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain(`${def}:3:11: source: invalid reference "Multi:1.0": repository name must be lower case`)
  })

  test('the full cycle: plan → apply → plan shows everything present; a second apply moves 0 bytes', async () => {
    const def = await s.definition('cycle.yaml', classifiableEntries(s, false))
    const planPath = join(cwd, 'cycle.plan.json')
    expect((await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag, '--detailed-exitcode'], {binary, cwd})).exitCode).toBe(2)
    const apply = await runCli(['apply', planPath, '--mirror', s.mirrorFlag], {binary, cwd})
    expect(apply.exitCode).toBe(0)
    expect(apply.stdout).toContain('Apply: 7 copied, 1 already present, 0 conflicts, 0 failed')
    const at = async (repo: string, ref: string) => (await headManifest(s.target.url, `mirror/${repo}`, ref)).digest
    // Indexes keep their digest and every child; amd64Only lands the amd64 manifest; a pin lands under its tag.
    expect(await at('library/multi', '1.0')).toBe(s.images.multi.digest)
    for (const child of s.images.multi.children) expect(await at('library/multi', child.digest)).toBe(child.digest)
    expect(await at('acme/amdpick', '3.1')).toBe(s.images.amdPick.children.find((c) => c.platform.architecture === 'amd64')!.digest)
    expect(await at('library/multi', '1.0-pinned')).toBe(s.images.multi.digest)
    const replan = await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag, '--detailed-exitcode'], {binary, cwd})
    expect(replan.exitCode).toBe(0)
    expect((await readPlan(planPath)).summary).toEqual({toCopy: 0, alreadyPresent: 8, conflicting: 0, signatureFailures: 0})
    const again = await runCli(['apply', planPath, '--mirror', s.mirrorFlag, '--format', 'json'], {binary, cwd})
    expect(JSON.parse(again.stdout).summary).toMatchObject({copied: 0, alreadyPresent: 8, bytes: 0})
  })

  test('sign and verify work from the binary; the embedded public-good root loads without the network', async () => {
    const key = makeKeyPair()
    await writeFile(join(cwd, 'k.key'), key.privatePem)
    await writeFile(join(cwd, 'k.pub'), key.publicPem)
    const image = `${s.target.host}/mirror/library/single:1.0`
    const sign = await runCli(['sign', image, '--key', 'k.key'], {binary, cwd})
    expect(sign.stderr).toBe('')
    expect(sign.exitCode).toBe(0)
    expect(sign.stdout).toContain(': signed')
    const verify = await runCli(['verify', image, '--key', 'k.pub'], {binary, cwd})
    expect(verify.exitCode).toBe(0)
    expect(verify.stdout).toContain('Verified: 1 signer')
    // Identities load the public-good trusted root embedded in the binary; nothing here is signed keylessly.
    const keyless = await runCli(['verify', image, '--identity', 'https://accounts.google.com=someone@example.com'], {binary, cwd})
    expect(keyless.exitCode).toBe(1)
    expect(keyless.stdout).toContain('Not verified: none of 1 signature verified.')
  })
})
