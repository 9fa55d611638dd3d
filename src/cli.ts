#!/usr/bin/env bun
/**
 * The entry point, from source (`bun src/cli.ts`) and inside the compiled binary. oclif is given the
 * package.json and an explicit command registry, because the binary has no files to discover commands in
 * (see ../shared/docs/bun-notes.md §1). This is the only module that exits the process.
 */
// First: it settles NO_COLOR before oclif's colour libraries load.
import './views/no-color.ts'
import {Errors, flush, run, settings} from '@oclif/core'
import {dirname} from 'node:path'
import pjson from '../package.json' with {type: 'json'}
import {printable} from './ref/text.ts'

// Never probe for TypeScript/ts-node: commands are already compiled or run by Bun, and the probe warns.
settings.enableAutoTranspile = false

const compiled = Bun.main.startsWith('/$bunfs/')
// In the binary the commands module is the second entrypoint, embedded next to the main one.
const commandsTarget = compiled ? `${dirname(Bun.main)}/src/commands.js` : `${import.meta.dir}/commands.ts`

const config = {
  ...pjson,
  oclif: {...pjson.oclif, commands: {strategy: 'explicit', target: commandsTarget, identifier: 'COMMANDS'}, plugins: undefined},
}

/** After SIGINT/SIGTERM, commands get this long to abort their requests and report, then we exit 130. */
const INTERRUPT_GRACE_MS = 1500
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    setTimeout(() => process.exit(130), INTERRUPT_GRACE_MS)
  })
}

/** Set by the release build (`--define`, .ci/release.ts): the commit every platform's binary reports. */
declare const IMAGE_SYNCER_COMMIT: string | undefined
const buildCommit = typeof IMAGE_SYNCER_COMMIT === 'string' ? IMAGE_SYNCER_COMMIT : undefined

/**
 * The seed's one-shot invocation has no command (`image-syncer --images-file FILE`): flags first mean `sync`.
 * Help and version flags keep their meaning.
 */
function withDefaultCommand(argv: string[]): string[] {
  const first = argv[0]
  if (first === undefined || !first.startsWith('-')) return argv
  if (['-h', '--help', '-v', '--version'].includes(first)) return argv
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

// A release binary's version names its commit and is the same on every platform (oclif's adds the platform).
if (buildCommit !== undefined && process.argv.length === 3 && ['-v', '--version'].includes(process.argv[2]!)) {
  process.stdout.write(`${pjson.oclif.bin}/${pjson.version} (commit ${buildCommit})\n`)
  process.exit(0)
}

run(withDefaultCommand(withoutNoColor(process.argv.slice(2))), {
  root: compiled ? dirname(Bun.main) : dirname(import.meta.dir),
  pjson: config,
  userPlugins: false,
} as never)
  .then(async (result) => {
    await flush()
    process.exit(typeof result === 'number' ? result : 0)
  })
  .catch(async (err: unknown) => {
    await flush().catch(() => {})
    const exit = (err as {oclif?: {exit?: number}})?.oclif?.exit
    if (exit !== undefined) {
      // oclif's own errors (unknown flag, missing argument, --help's exit) keep oclif's rendering and code.
      if (exit !== 0) await Errors.handle(err as Error)
      else process.exit(0)
      return
    }
    // Unexpected errors may still quote a registry (a RegistryError from verify or sign): printable, never obeyed.
    process.stderr.write(
      `Error: ${printable(err instanceof Error ? ((process.env.SYNCER_DEBUG ? err.stack : undefined) ?? err.message) : String(err), {multiline: true})}\n`,
    )
    process.exit(1)
  })
