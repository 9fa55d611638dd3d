/**
 * plan → apply → plan against real docker-registry processes, through the CLI: digests kept, every child of an
 * index present, amd64Only and digest pins land under their tags, a second apply moves nothing; the one-shot
 * mode; bad plan files.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {headManifest} from '../support/images.ts'
import {classifiableEntries, runCli, type Scenario, startScenario} from './scenario.ts'

setDefaultTimeout(60_000)

let s: Scenario
beforeAll(async () => {
  s = await startScenario()
})
afterAll(async () => {
  await s?.stop()
})

async function targetDigest(repo: string, reference: string): Promise<string | null> {
  const head = await headManifest(s.target.url, `mirror/${repo}`, reference)
  return head.status === 200 ? head.digest : null
}

describe('apply against real registries', () => {
  test('plan → apply → plan: everything present, digests unchanged; a second apply moves 0 bytes', async () => {
    const def = await s.definition('cycle.yaml', classifiableEntries(s, false))
    const planPath = join(s.dir, 'cycle.plan.json')
    expect((await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag])).exitCode).toBe(0)

    const apply = await runCli(['apply', planPath, '--mirror', s.mirrorFlag, '--format', 'json'])
    expect(apply.exitCode).toBe(0)
    const result = JSON.parse(apply.stdout)
    expect(result.summary).toMatchObject({copied: 7, alreadyPresent: 1, conflicts: 0, failed: 0})
    expect(result.summary.bytes).toBeGreaterThan(0)

    // Whole indexes keep their digest and every child, attestations included.
    expect(await targetDigest('library/multi', '1.0')).toBe(s.images.multi.digest)
    for (const child of s.images.multi.children) expect(await targetDigest('library/multi', child.digest)).toBe(child.digest)
    expect(await targetDigest('acme/list', '2.0')).toBe(s.images.list.digest)
    for (const child of s.images.list.children) expect(await targetDigest('acme/list', child.digest)).toBe(child.digest)
    // amd64Only: the amd64 manifest alone, under the tag; the index is not copied.
    const amd64 = s.images.amdPick.children.find((c) => c.platform.architecture === 'amd64')!
    expect(await targetDigest('acme/amdpick', '3.1')).toBe(amd64.digest)
    expect(await targetDigest('acme/amdpick', s.images.amdPick.digest)).toBeNull()
    expect(await targetDigest('library/single', '1.0-amd64')).toBe(s.images.single.digest)
    // A digest-pinned source lands under its tag.
    expect(await targetDigest('library/multi', '1.0-pinned')).toBe(s.images.multi.digest)

    const replan = await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag, '--detailed-exitcode'])
    expect(replan.exitCode).toBe(0)
    expect((await readPlan(planPath)).summary).toEqual({toCopy: 0, alreadyPresent: 8, conflicting: 0, signatureFailures: 0})

    const again = await runCli(['apply', planPath, '--mirror', s.mirrorFlag, '--format', 'json'])
    expect(again.exitCode).toBe(0)
    expect(JSON.parse(again.stdout).summary).toMatchObject({copied: 0, alreadyPresent: 8, bytes: 0})
  })

  test('applying the same stale plan twice: the second run transfers 0 bytes and reports everything present', async () => {
    const def = await s.definition('twice.yaml', `- source: "acme/arm:1.0"\n  tag: "twice"`)
    const planPath = join(s.dir, 'twice.plan.json')
    await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag])
    const first = JSON.parse((await runCli(['apply', planPath, '--mirror', s.mirrorFlag, '--format', 'json'])).stdout)
    expect(first.summary.copied).toBe(1)
    const second = JSON.parse((await runCli(['apply', planPath, '--mirror', s.mirrorFlag, '--format', 'json'])).stdout)
    expect(second.summary).toMatchObject({copied: 0, alreadyPresent: 1, bytes: 0})
  })

  test('a plan with conflicts is refused and nothing is written', async () => {
    const def = await s.definition('conflict.yaml', `- source: "acme/conflict:1.0"\n- source: "acme/arm:1.0"\n  tag: "not-written"`)
    const planPath = join(s.dir, 'conflict.plan.json')
    expect((await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag])).exitCode).toBe(1)
    const apply = await runCli(['apply', planPath, '--mirror', s.mirrorFlag])
    expect(apply.exitCode).toBe(1)
    expect(apply.stderr).toContain('the plan has 1 conflicting-ID entry; nothing was written')
    expect(apply.stderr).toContain(`${s.prefix}acme/conflict:1.0 holds ${s.images.conflictTarget.digest}`)
    expect(await targetDigest('acme/arm', 'not-written')).toBeNull()
    expect(await targetDigest('acme/conflict', '1.0')).toBe(s.images.conflictTarget.digest)
  })

  test('a file that is not a plan, a truncated plan and an unknown format version get one sentence and exit 1', async () => {
    const cases: Array<[string, string, string]> = [
      ['notjson.json', 'hello', 'is not a plan file: it is not valid JSON'],
      ['truncated.json', '{"formatVersion": 1, "entries": [', 'is not a plan file: it is not valid JSON'],
      ['future.json', JSON.stringify({formatVersion: 9}), 'has plan format version 9, but this image-syncer reads version 2'],
      ['other.json', JSON.stringify({name: 'x'}), 'is not a plan file: it has no formatVersion'],
    ]
    for (const [name, text, message] of cases) {
      const path = join(s.dir, name)
      await writeFile(path, text)
      const run = await runCli(['apply', path])
      expect(run.exitCode).toBe(1)
      expect(run.stderr.startsWith(`Error: ${path} ${message}`)).toBe(true)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
    }
    const missing = await runCli(['apply', join(s.dir, 'nope.json')])
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr).toContain('no such file')
  })
})

describe('the one-shot mode', () => {
  test('--dry-run plans and changes nothing; `--images-file` without a command syncs', async () => {
    const def = await s.definition('oneshot.yaml', `- source: "acme/list:2.0"\n  tag: "oneshot"`)
    const dry = await runCli(['sync', '-i', def, '--dry-run', '--mirror', s.mirrorFlag])
    expect(dry.exitCode).toBe(0)
    expect(dry.stdout).toContain('Plan: 1 to copy, 0 already present, 0 conflicting.')
    expect(dry.stdout).not.toContain('Apply:')
    expect(await targetDigest('acme/list', 'oneshot')).toBeNull()
    const envDry = await runCli(['--images-file', def, '--mirror', s.mirrorFlag], {env: {SYNCER_DRY_RUN: 'true'}})
    expect(envDry.exitCode).toBe(0)
    expect(await targetDigest('acme/list', 'oneshot')).toBeNull()

    const run = await runCli(['--images-file', def, '--mirror', s.mirrorFlag])
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('Apply: 1 copied, 0 already present, 0 conflicts, 0 failed')
    expect(await targetDigest('acme/list', 'oneshot')).toBe(s.images.list.digest)
  })

  test('--debug logs every registry request on stderr', async () => {
    const def = await s.definition('debug.yaml', `- source: "single:1.0"\n  tag: "debug"`)
    const run = await runCli(['sync', '-i', def, '--debug', '--quiet', '--mirror', s.mirrorFlag])
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toMatch(new RegExp(`debug: PUT http://${s.target.host}/v2/mirror/library/single/manifests/debug 201 \\d+ms`))
    expect(run.stderr).toMatch(new RegExp(`debug: HEAD http://${s.source.host}/v2/library/single/manifests/1.0 200 \\d+ms`))
  })
})
