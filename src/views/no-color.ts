/**
 * `--no-color` anywhere before `--` means NO_COLOR (https://no-color.org). This module is imported first by
 * src/cli.ts, for its side effects: oclif's colour libraries (supports-color, ansis) decide when they load, and
 * supports-color lets FORCE_COLOR win over a `--no-color` flag, so the environment is fixed before they load.
 * Bun itself prints `console.error` (oclif's error output) in red on a terminal, deciding from NO_COLOR at
 * startup, before any code runs: with the flag, console.error writes plain text instead.
 */
import {format} from 'node:util'

const argv = process.argv.slice(2)
const end = argv.indexOf('--')
const at = argv.indexOf('--no-color')
if (at >= 0 && (end < 0 || at < end)) {
  process.env.NO_COLOR = '1'
  delete process.env.FORCE_COLOR
  console.error = (...args: unknown[]) => {
    process.stderr.write(`${format(...args)}\n`)
  }
}
