/**
 * How the human output is drawn, decided once per run from the streams and the environment: on a terminal, to its
 * width (COLUMNS wins when set, as less and watch set it; 80 when the terminal tells none), with colour unless
 * NO_COLOR (which --no-color sets, src/views/no-color.ts) or TERM=dumb; anywhere else, the stable lines.
 */
import {Flags} from '@oclif/core'
import type {Display} from '../views/screen.ts'
import type {Io} from './io.ts'

/** Narrower than this, nothing can be laid out; a terminal reporting less is drawn as this wide. */
const MIN_WIDTH = 20
const DEFAULT_WIDTH = 80

export const displayFlags = {
  'show-present': Flags.boolean({
    description: 'On a terminal, list the already-present entries too (by default they are counted in one line).',
    env: 'SYNCER_SHOW_PRESENT',
    default: false,
  }),
}

export function terminalWidth(env: Record<string, string | undefined>, columns: number | undefined): number {
  const fromEnv = /^\d+$/.test(env['COLUMNS'] ?? '') ? Number(env['COLUMNS']) : 0
  const width = fromEnv > 0 ? fromEnv : columns && columns > 0 ? columns : DEFAULT_WIDTH
  return Math.max(MIN_WIDTH, width)
}

export function displayFor(io: Io, env: Record<string, string | undefined>, showPresent: boolean): Display {
  if (!io.stdoutIsTTY) return {kind: 'lines'}
  const colour = env['NO_COLOR'] || env['TERM'] === 'dumb' ? 'none' : 'ansi'
  return {kind: 'screen', screen: {width: terminalWidth(env, io.columns), colour}, present: showPresent ? 'list' : 'fold'}
}
