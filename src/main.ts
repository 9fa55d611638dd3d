/**
 * One invocation of the CLI, argv in, exit code out: what src/cli.ts runs for the process, and what the tests'
 * in-process runner runs, so both go through the same argv rewriting and error rendering. oclif is given the
 * package.json and an explicit command registry, because the binary has no files to discover commands in
 * (see ../shared/docs/bun-notes.md §1). Nothing here exits the process; src/cli.ts does, with the code returned.
 * oclif and the commands are loaded when a run needs them, so a release build's --version loads neither.
 */
import type {Config} from '@oclif/core'
import {dirname} from 'node:path'
import pjson from '../package.json' with {type: 'json'}
import {type Io, processIo, withIo} from './commands/io.ts'
import {printable} from './ref/text.ts'

const compiled = Bun.main.startsWith('/$bunfs/')
// In the binary the commands module is the second entrypoint, embedded next to the main one.
const commandsTarget = compiled ? `${dirname(Bun.main)}/src/commands.js` : `${import.meta.dir}/commands.ts`

const loadOptions = {
  root: compiled ? dirname(Bun.main) : dirname(import.meta.dir),
  pjson: {...pjson, oclif: {...pjson.oclif, commands: {strategy: 'explicit', target: commandsTarget, identifier: 'COMMANDS'}, plugins: undefined}},
  userPlugins: false,
} as never

/** Loaded once per process (it imports every command); each run gets a fresh Config from it, which is cheap. */
let loaded: Promise<Config> | undefined

async function loadConfig(): Promise<Config> {
  const {Config, settings} = await import('@oclif/core')
  // Never probe for TypeScript/ts-node: commands are already compiled or run by Bun, and the probe warns.
  settings.enableAutoTranspile = false
  return Config.load(loadOptions)
}

/** Set by the release build (`--define`, .ci/release.ts): the commit every platform's binary reports. */
declare const IMAGE_SYNCER_COMMIT: string | undefined
const buildCommit = typeof IMAGE_SYNCER_COMMIT === 'string' ? IMAGE_SYNCER_COMMIT : undefined

const VERSION_FLAGS = ['-v', '--version']

/**
 * The seed's one-shot invocation has no command (`image-syncer --images-file FILE`): flags first mean `sync`.
 * Help and version flags keep their meaning.
 */
function withDefaultCommand(argv: string[]): string[] {
  const first = argv[0]
  if (first === undefined || !first.startsWith('-')) return argv
  if (['-h', '--help', ...VERSION_FLAGS].includes(first)) return argv
  return ['sync', ...argv]
}

/**
 * `--no-color` (see ./views/no-color.ts) is taken out of argv before `--`, so that it may also come first
 * (`image-syncer --no-color plan …`), where a flag would otherwise select the one-shot mode.
 */
function withoutNoColor(argv: string[]): string[] {
  const end = argv.indexOf('--')
  if (!argv.includes('--no-color') || (end >= 0 && argv.indexOf('--no-color') > end)) return argv
  return argv.filter((arg, index) => arg !== '--no-color' || (end >= 0 && index > end))
}

/** Runs the command `argv` names (the arguments after the program's name) and returns its exit code. */
export async function runCommand(argv: readonly string[], io: Io = processIo): Promise<number> {
  // A release binary's version names its commit and is the same on every platform (oclif's adds the platform).
  if (buildCommit !== undefined && argv.length === 1 && VERSION_FLAGS.includes(argv[0]!)) {
    io.stdout(`${pjson.oclif.bin}/${pjson.version} (commit ${buildCommit})\n`)
    return 0
  }
  try {
    loaded ??= loadConfig()
    const config = await loaded
    const {run} = await import('@oclif/core')
    const result = await withIo(io, () => run(withDefaultCommand(withoutNoColor([...argv])), config))
    await io.flush()
    return typeof result === 'number' ? result : 0
  } catch (err: unknown) {
    await io.flush().catch(() => {})
    const exit = (err as {oclif?: {exit?: number}})?.oclif?.exit
    // oclif's own errors (unknown flag, missing argument, --help's exit) keep oclif's rendering and code.
    if (exit !== undefined) return exit === 0 ? 0 : oclifRendering(err as Error)
    // Unexpected errors may still quote a registry (a RegistryError from verify or sign): printable, never obeyed.
    io.stderr(
      `Error: ${printable(err instanceof Error ? ((process.env.SYNCER_DEBUG ? err.stack : undefined) ?? err.message) : String(err), {multiline: true})}\n`,
    )
    return 1
  }
}

/**
 * oclif's handler prints the error (and the help it calls for) and then exits; its Exit hook is there to be
 * replaced, so the code comes back here and only src/cli.ts exits. Its first call is the code it meant.
 */
async function oclifRendering(err: Error): Promise<number> {
  const {Exit, handle} = await import('@oclif/core/handle')
  const exit = Exit.exit
  let code: number | undefined
  Exit.exit = ((value = 0) => {
    code ??= value
  }) as typeof Exit.exit
  try {
    await handle(err)
  } finally {
    Exit.exit = exit
  }
  return code ?? 1
}
