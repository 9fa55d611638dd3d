/** The CLI under GitHub Actions (GITHUB_ACTIONS=true): annotations on stderr, tables in the step summary file. */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {existsSync} from 'node:fs'
import {readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {classifiableEntries, runCli, type Scenario, startScenario} from './scenario.ts'

setDefaultTimeout(60_000)

let s: Scenario
let summary: string
let env: Record<string, string>
beforeAll(async () => {
  s = await startScenario()
  summary = join(s.dir, 'step-summary.md')
  env = {GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary}
})
afterAll(() => s?.stop())

describe('GITHUB_ACTIONS=true', () => {
  test('definition errors are also ::error annotations at file, line and column', async () => {
    const def = await s.definition('bad.yaml', `- source: "Multi:1.0"`)
    const run = await runCli(['plan', '-i', def], {env, cwd: s.dir})
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain(`${def}:3:11: source: invalid reference`)
    expect(run.stderr).toContain(`::error file=${def},line=3,col=11,title=image-syncer%3A definition::source: invalid reference "Multi:1.0"`)
  })

  test('plan: conflicts are annotated at their definition line, and the plan table goes to the step summary', async () => {
    await rm(summary, {force: true})
    const def = await s.definition('gh.yaml', classifiableEntries(s, true))
    const run = await runCli(['plan', '-i', def, '-o', join(s.dir, 'gh.plan.json'), '--mirror', s.mirrorFlag, '--format', 'markdown'], {env, cwd: s.dir})
    expect(run.exitCode).toBe(1)
    const conflictLine = (await readFile(def, 'utf8')).split('\n').findIndex((l) => l.includes('acme/conflict:1.0')) + 1
    expect(run.stderr).toMatch(new RegExp(`^::error file=${def},line=${conflictLine},title=image-syncer%3A conflict::.*acme/conflict:1.0 holds sha256:`, 'm'))
    expect(run.stdout).not.toContain('::error')
    const markdown = await readFile(summary, 'utf8')
    expect(markdown).toStartWith('### image-syncer plan\n\n')
    expect(markdown).toContain('| Source | Target | Action |')
    expect(markdown).toContain('**conflicting-ID**')
  })

  test('apply: the apply table is appended to the step summary', async () => {
    await rm(summary, {force: true})
    const def = await s.definition('gh-apply.yaml', `- source: "single:1.0"\n  tag: "gh-apply"`)
    const planPath = join(s.dir, 'gh-apply.plan.json')
    expect((await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag], {env, cwd: s.dir})).exitCode).toBe(0)
    const apply = await runCli(['apply', planPath, '--mirror', s.mirrorFlag], {env, cwd: s.dir})
    expect(apply.exitCode).toBe(0)
    const markdown = await readFile(summary, 'utf8')
    expect(markdown).toContain('### image-syncer plan\n')
    expect(markdown).toContain('### image-syncer apply\n\n```text\n')
    expect(markdown).toContain('Apply: 1 copied')
  })

  test('outside Actions: no annotations and no summary', async () => {
    await rm(summary, {force: true})
    const def = await s.definition('bad2.yaml', `- source: "Multi:1.0"`)
    const run = await runCli(['plan', '-i', def], {env: {GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: summary}, cwd: s.dir})
    expect(run.exitCode).toBe(1)
    expect(run.stderr).not.toContain('::error')
    expect(existsSync(summary)).toBe(false)
  })
})
