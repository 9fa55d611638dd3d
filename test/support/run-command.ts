/**
 * The CLI run in this test process: the same src/main.ts the entry point runs, with stdout and stderr captured
 * instead of a `bun src/cli.ts` process (whose start alone costs ~0.6 s). oclif's configuration is loaded once.
 *
 * A run still touches what belongs to the whole process: flags read their defaults from process.env (`env:` on a
 * flag) and so do the registry options, relative paths resolve against the cwd, oclif's help and its own errors go
 * to console.log/console.error and its help for a usage error reads process.argv, and oclif sets process.exitCode
 * when a command throws. So a run applies its env and cwd, points those at itself and puts everything back after;
 * and runs queue behind one another, because two at once would see each other's env, cwd and console. Tests
 * that need runs side by side (separate processes writing one layout, shards) spawn them instead.
 *
 * What a process has and this does not: a terminal (stderr is never one here), signals, NO_COLOR settled at
 * startup (src/views/no-color.ts), the exit itself. Tests of those spawn the CLI. oclif decides colour and line
 * width when it loads, from this process's terminal: run from one, its help and errors here are coloured, so tests
 * that check oclif's own text spawn the CLI, whose output is a pipe.
 */
import {join} from 'node:path'
import {format} from 'node:util'
import {runCommand} from '../../src/main.ts'
import type {Pace} from '../../src/transport/retry.ts'

export interface CliRun {
  stdout: string
  stderr: string
  exitCode: number
}

export interface CliOptions {
  cwd?: string
  env?: Record<string, string>
  /** The pace the run's registry requests wait on (test/support/pace.ts testPace()); the real one when absent. */
  pace?: Pace
}

const CLI = join(import.meta.dir, '../../src/cli.ts')

let queue: Promise<unknown> = Promise.resolve()

/** Runs the CLI with `args` in this process and returns what it printed and its exit code, like a spawned run. */
export function runCommandInProcess(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const run = queue.then(() => runAlone(args, options))
  queue = run.catch(() => {})
  return run
}

async function runAlone(args: readonly string[], options: CliOptions): Promise<CliRun> {
  const out = {stdout: '', stderr: ''}
  const restore = enter(args, options, out)
  try {
    const exitCode = await runCommand(args, {
      stdout: (text) => {
        out.stdout += text
      },
      stderr: (text) => {
        out.stderr += text
      },
      stderrIsTTY: false,
      stdoutIsTTY: false,
      columns: undefined,
      flush: async () => {},
      ...(options.pace ? {pace: options.pace} : {}),
    })
    return {...out, exitCode}
  } finally {
    restore()
  }
}

/** Points the process-wide state at this run (env, cwd, argv, console) and returns what puts it back. */
function enter(args: readonly string[], options: CliOptions, out: {stdout: string; stderr: string}): () => void {
  const env = Object.keys(options.env ?? {}).map((name) => [name, process.env[name]] as const)
  const cwd = process.cwd()
  const {argv, exitCode} = process
  const {log, error} = console
  for (const [name, value] of Object.entries(options.env ?? {})) process.env[name] = value
  if (options.cwd) process.chdir(options.cwd)
  // What oclif's help for a usage error reads the command from.
  process.argv = [process.execPath, CLI, ...args]
  console.log = (...values: unknown[]) => {
    out.stdout += `${format(...values)}\n`
  }
  // Bun writes a bare console.error() (oclif's blank line before a usage error's help) to stdout, unless
  // --no-color has replaced console.error (src/views/no-color.ts).
  const bare = noColor(args) ? 'stderr' : 'stdout'
  console.error = (...values: unknown[]) => {
    out[values.length === 0 ? bare : 'stderr'] += `${format(...values)}\n`
  }
  return () => {
    console.log = log
    console.error = error
    process.argv = argv
    // Bun ignores `process.exitCode = undefined`; 0 is what unset means, and bun test still fails on a failure.
    process.exitCode = exitCode ?? 0
    process.chdir(cwd)
    for (const [name, value] of env) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

/** src/views/no-color.ts's rule: `--no-color` anywhere before `--`. */
function noColor(args: readonly string[]): boolean {
  const at = args.indexOf('--no-color')
  const end = args.indexOf('--')
  return at >= 0 && (end < 0 || at < end)
}
