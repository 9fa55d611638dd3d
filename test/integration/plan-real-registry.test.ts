/** `plan` against real docker-registry processes: every classification of issue §5, the plan file, exit codes. */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import type {PlanEntry} from '../../src/plan/model.ts'
import {classifiableEntries, runCli, type Scenario, startScenario} from './scenario.ts'

setDefaultTimeout(60_000)

let s: Scenario
beforeAll(async () => {
  s = await startScenario()
})
afterAll(async () => {
  await s?.stop()
})

function entry(entries: PlanEntry[], target: string): PlanEntry {
  const found = entries.find((e) => e.target === `${s.prefix}${target}`)
  if (!found) throw new Error(`no plan entry for ${target}; have ${entries.map((e) => e.target).join(', ')}`)
  return found
}

describe('plan against real registries', () => {
  test('classifies every entry, writes the plan file, prints the table and exits 1 on a conflict', async () => {
    const def = await s.definition('all.yaml', classifiableEntries(s, true))
    const out = join(s.dir, 'all.plan.json')
    const run = await runCli(['plan', '-i', def, '-o', out, '--mirror', s.mirrorFlag])
    expect(run.exitCode).toBe(1)
    const plan = await readPlan(out)
    expect(plan.summary).toEqual({toCopy: 7, alreadyPresent: 1, conflicting: 1, signatureFailures: 0})
    expect(plan.formatVersion).toBe(2)
    expect(plan.definition.path).toBe(def)
    expect(plan.definition.sha256).toMatch(/^sha256:[a-f0-9]{64}$/)

    const multi = entry(plan.entries, 'library/multi:1.0')
    expect(multi).toMatchObject({
      action: 'to-copy',
      sourceDigest: s.images.multi.digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      targetDigest: null,
      selection: {kind: 'whole'},
      sourceRepository: 'docker.io/library/multi',
    })
    // The attestation manifests (unknown/unknown) travel with the index but are not platforms.
    expect(multi.platforms).toEqual(['linux/amd64', 'linux/arm64/v8'])

    expect(entry(plan.entries, 'acme/list:2.0')).toMatchObject({
      action: 'to-copy',
      sourceDigest: s.images.list.digest,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      platforms: ['linux/amd64', 'linux/arm/v7'],
    })
    expect(entry(plan.entries, 'library/single:1.0')).toMatchObject({
      action: 'to-copy',
      sourceDigest: s.images.single.digest,
      platforms: ['linux/amd64'],
      selection: {kind: 'whole'},
    })
    expect(entry(plan.entries, 'acme/arm:1.0')).toMatchObject({action: 'to-copy', platforms: ['linux/arm64/v8']})
    expect(entry(plan.entries, 'acme/present:1.0')).toMatchObject({
      action: 'already-present',
      sourceDigest: s.images.present.digest,
      targetDigest: s.images.present.digest,
    })
    expect(entry(plan.entries, 'acme/conflict:1.0')).toMatchObject({
      action: 'conflicting-ID',
      sourceDigest: s.images.conflictSource.digest,
      targetDigest: s.images.conflictTarget.digest,
    })

    // amd64Only on an index: the linux/amd64 child is the entry's ID, the index is remembered.
    const amd64Child = s.images.amdPick.children.find((c) => c.platform.architecture === 'amd64')!
    expect(entry(plan.entries, 'acme/amdpick:3.1')).toMatchObject({
      action: 'to-copy',
      sourceDigest: amd64Child.digest,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      platforms: ['linux/amd64'],
      selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: s.images.amdPick.digest},
    })
    // amd64Only on a single linux/amd64 manifest.
    expect(entry(plan.entries, 'library/single:1.0-amd64')).toMatchObject({
      sourceDigest: s.images.single.digest,
      selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: null},
    })
    // A digest pin is re-tagged with `tag:`.
    expect(entry(plan.entries, 'library/multi:1.0-pinned')).toMatchObject({
      action: 'to-copy',
      sourceDigest: s.images.multi.digest,
      source: `multi@${s.images.multi.digest}`,
    })

    for (const e of plan.entries) expect(run.stdout).toContain(e.target)
    expect(run.stdout).toContain('Plan: 7 to copy, 1 already present, 1 conflicting.')
    expect(run.stdout).toContain('conflicting-ID')
  })

  test('exits 0 without conflicts, and 2 with --detailed-exitcode when there is something to copy', async () => {
    const def = await s.definition('clean.yaml', classifiableEntries(s, false))
    const out = join(s.dir, 'clean.plan.json')
    const plain = await runCli(['plan', '-i', def, '-o', out, '--mirror', s.mirrorFlag])
    expect(plain.exitCode).toBe(0)
    const detailed = await runCli(['plan', '-i', def, '-o', out, '--detailed-exitcode'], {env: {SYNCER_MIRRORS: s.mirrorFlag}})
    expect(detailed.exitCode).toBe(2)
    const nothingToDo = await s.definition('present.yaml', `- source: "acme/present:1.0"`)
    const present = await runCli(['plan', '-i', nothingToDo, '-o', join(s.dir, 'present.plan.json'), '--detailed-exitcode', '--mirror', s.mirrorFlag])
    expect(present.exitCode).toBe(0)
  })

  test('--format json prints the plan itself and markdown a table', async () => {
    const def = await s.definition('json.yaml', `- source: "multi:1.0"`)
    const json = await runCli(['plan', '-i', def, '-o', join(s.dir, 'json.plan.json'), '--format', 'json', '--mirror', s.mirrorFlag])
    expect(json.exitCode).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual(await readPlan(join(s.dir, 'json.plan.json')))
    const md = await runCli(['plan', '-i', def, '-o', join(s.dir, 'md.plan.json'), '--format', 'markdown', '--mirror', s.mirrorFlag])
    expect(md.stdout).toContain('| Source | Target | Action | Digest | Platforms |')
    // Targets relative to the prefix, which the text names once.
    expect(md.stdout).toContain(`Into \`${s.prefix}\``)
    expect(md.stdout).toContain('| `library/multi:1.0` |')
  })

  test('writes no plan and reports every entry it cannot classify', async () => {
    const child = s.images.multi.children[0]!
    const def = await s.definition(
      'broken.yaml',
      [
        `- source: "multi:1.0"`,
        `- source: "nosuch/image:1.0"`,
        `- source: "multi@${child.digest}"\n  tag: "child"`,
        `- source: "acme/arm:1.0"\n  tag: "arm-amd64"\n  amd64Only: true`,
        `- source: "acme/list:2.0"\n  tag: "2.0-amd"\n  amd64Only: true`,
      ].join('\n'),
    )
    const out = join(s.dir, 'broken.plan.json')
    const run = await runCli(['plan', '-i', def, '-o', out, '--mirror', s.mirrorFlag])
    expect(run.exitCode).toBe(1)
    expect(existsSync(out)).toBe(false)
    expect(run.stderr).toContain('3 entries could not be classified')
    expect(run.stderr).toContain(`${def}:4: nosuch/image:1.0: tag 1.0 does not exist in docker.io/nosuch/image`)
    expect(run.stderr).toContain(`${def}:5: multi@${child.digest}: ${child.digest} is a single-platform manifest (linux/amd64)`)
    expect(run.stderr).toContain('set amd64Only: true')
    expect(run.stderr).toContain(`${def}:7: acme/arm:1.0: amd64Only is set but acme/arm:1.0 is a single manifest for linux/arm64/v8`)
  })

  test('a missing pinned digest at the source is an error', async () => {
    const missing = `sha256:${'0'.repeat(64)}`
    const def = await s.definition('pin.yaml', `- source: "multi@${missing}"\n  tag: "x"`)
    const run = await runCli(['plan', '-i', def, '-o', join(s.dir, 'pin.plan.json'), '--mirror', s.mirrorFlag])
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain(`digest ${missing} does not exist in docker.io/library/multi`)
  })

  test('bad definition files get their line and column, and no request is made', async () => {
    const def = await s.definition('typo.yaml', `- source: "multi:1.0"\n  amd64only: true`)
    const run = await runCli(['plan', '-i', def, '--mirror', s.mirrorFlag])
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain(`${def}:4:3: unknown key "amd64only": did you mean amd64Only?`)
  })

  test('the default output is plans/<basename>.plan.json under the working directory', async () => {
    const def = await s.definition('external-images.yaml', `- source: "single:1.0"`)
    const run = await runCli(['plan', '-i', def, '--mirror', s.mirrorFlag], {cwd: s.dir})
    expect(run.exitCode).toBe(0)
    expect((await readPlan(join(s.dir, 'plans', 'external-images.plan.json'))).entries).toHaveLength(1)
  })

  test('SYNCER_TARGET_REPO_PREFIX overrides the file, and --target-repo-prefix overrides both', async () => {
    const def = await s.definition('prefix.yaml', `- source: "single:1.0"`)
    const out = join(s.dir, 'prefix.plan.json')
    const fromEnv = await runCli(['plan', '-i', def, '-o', out, '--mirror', s.mirrorFlag], {env: {SYNCER_TARGET_REPO_PREFIX: `${s.target.host}/from-env/`}})
    expect(fromEnv.exitCode).toBe(0)
    expect((await readPlan(out)).entries[0]!.target).toBe(`${s.target.host}/from-env/library/single:1.0`)
    const fromFlag = await runCli(['plan', '-i', def, '-o', out, '--mirror', s.mirrorFlag, '--target-repo-prefix', `${s.target.host}/from-flag`], {
      env: {SYNCER_TARGET_REPO_PREFIX: `${s.target.host}/from-env/`},
    })
    expect(fromFlag.exitCode).toBe(0)
    const plan = await readPlan(out)
    expect(plan.targetRepoPrefix).toBe(`${s.target.host}/from-flag/`)
    expect(plan.entries[0]!.target).toBe(`${s.target.host}/from-flag/library/single:1.0`)
  })
})
