/** The conventions users expect of a CLI: NO_COLOR and --no-color, --json on every command that prints a result. */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {join} from 'node:path'
import {runCli, type Scenario, startScenario} from './scenario.ts'

setDefaultTimeout(60_000)

const ESC = '\x1b['
let s: Scenario
beforeAll(async () => {
  s = await startScenario()
})
afterAll(() => s?.stop())

/** Runs the CLI on a terminal (util-linux `script`), where colour is on unless turned off; returns all it printed. */
function onTerminal(args: string[], env: Record<string, string> = {}): string {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`
  const command = [process.execPath, join(import.meta.dir, '../../src/cli.ts'), ...args].map(quote).join(' ')
  // A user's terminal: colour libraries also turn colour off on CI systems (CI=true) and without a TERM.
  const notTerminal = new Set(['NO_COLOR', 'FORCE_COLOR', 'CI', 'CONTINUOUS_INTEGRATION', 'BUILD_NUMBER', 'RUN_ID', 'GITHUB_ACTIONS', 'TERM'])
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !notTerminal.has(key))) as Record<string, string>
  const run = Bun.spawnSync(['script', '-qec', command, '/dev/null'], {env: {...base, TERM: 'xterm-256color', ...env}, stdout: 'pipe', stderr: 'pipe'})
  return run.stdout.toString() + run.stderr.toString()
}

describe('colour', () => {
  // Only oclif (help headings, its errors) and Bun's console.error colour anything, and only on a terminal.
  test('on a terminal help and errors are coloured; NO_COLOR and --no-color (anywhere) turn that off', () => {
    expect(onTerminal(['plan', '--help'])).toContain(ESC)
    expect(onTerminal(['plan', '--nosuch'])).toContain(ESC)
    for (const [args, env] of [
      [['plan', '--help'], {NO_COLOR: '1'}],
      [['plan', '--nosuch'], {NO_COLOR: '1'}],
      [['plan', '--help', '--no-color'], {}],
      [['--no-color', 'plan', '--help'], {}],
      [['plan', '--nosuch', '--no-color'], {}],
      [['plan', '--nosuch', '--no-color'], {FORCE_COLOR: '1'}],
    ] as const) {
      expect(onTerminal([...args], env)).not.toContain(ESC)
    }
  })

  test('--no-color is accepted by every command and changes nothing else', async () => {
    const def = await s.definition('nc.yaml', `- source: "single:1.0"`)
    const plain = await runCli(['plan', '-i', def, '-o', join(s.dir, 'nc.plan.json'), '--mirror', s.mirrorFlag])
    const noColor = await runCli(['plan', '-i', def, '-o', join(s.dir, 'nc.plan.json'), '--mirror', s.mirrorFlag, '--no-color'])
    expect(noColor.exitCode).toBe(0)
    expect(noColor.stdout).toBe(plain.stdout)
  })
})

describe('--json', () => {
  test('is --format json for plan, apply, sync and verify', async () => {
    const def = await s.definition('json.yaml', `- source: "single:1.0"\n  tag: "json"`)
    const planPath = join(s.dir, 'json.plan.json')
    const plan = await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag, '--json'])
    const viaFormat = await runCli(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag, '--format', 'json'])
    expect(JSON.parse(plan.stdout).entries).toEqual(JSON.parse(viaFormat.stdout).entries)
    const apply = await runCli(['apply', planPath, '--mirror', s.mirrorFlag, '--json', '--quiet'])
    expect(apply.exitCode).toBe(0)
    expect(JSON.parse(apply.stdout).summary).toMatchObject({copied: 1})
    const sync = await runCli(['sync', '-i', def, '--mirror', s.mirrorFlag, '--json', '--dry-run'])
    expect(JSON.parse(sync.stdout).plan.summary).toMatchObject({alreadyPresent: 1})
    const image = `${s.target.host}/mirror/library/single:json`
    const verify = await runCli(['verify', image, '--identity', 'https://accounts.google.com=a@example.com', '--json'])
    expect(verify.exitCode).toBe(1)
    expect(JSON.parse(verify.stdout).decision.status).not.toBe('verified')
  })
})

describe('help', () => {
  // The help command is plugin-help's, on the CLI's own oclif (src/commands/help.ts): it says what --help says.
  test('`help` is --help, `help COMMAND` is COMMAND --help, and -n lists the commands too', async () => {
    const help = await runCli(['help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toBe((await runCli(['--help'])).stdout)
    for (const command of ['plan', 'apply', 'verify-blob', 'help']) expect(help.stdout).toContain(`  ${command} `)
    const plan = await runCli(['help', 'plan'])
    expect(plan.exitCode).toBe(0)
    expect(plan.stdout).toContain('--images-file')
    expect(plan.stdout).toBe((await runCli(['plan', '--help'])).stdout)
    const nested = await runCli(['help', '-n'])
    expect(nested.exitCode).toBe(0)
    expect(nested.stdout).toContain('  schema ')
  })

  test('`help` of an unknown command fails as oclif does', async () => {
    const run = await runCli(['help', 'nosuch'])
    expect(run.exitCode).toBe(2)
    expect(run.stderr).toContain('nosuch')
  })
})
