#!/usr/bin/env bun
/**
 * The entry point, from source (`bun src/cli.ts`) and inside the compiled binary: the process's argv and
 * streams through ./main.ts, then its exit code. This is the only module that exits the process.
 */
// First: it settles NO_COLOR before oclif's colour libraries load.
import './views/no-color.ts'
import {runCommand} from './main.ts'

/** After SIGINT/SIGTERM, commands get this long to abort their requests and report, then we exit 130. */
const INTERRUPT_GRACE_MS = 1500
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    setTimeout(() => process.exit(130), INTERRUPT_GRACE_MS)
  })
}

// runCommand renders every error itself; one it could not would be Bun's unhandled rejection, exit 1.
void runCommand(process.argv.slice(2)).then((code) => process.exit(code))
