/**
 * Progress while apply runs: a status line redrawn in place on a terminal, periodic plain lines in CI logs
 * (where `\r` and escape codes turn into garbage), or nothing with --quiet.
 */
import type {ProgressEvent} from '../apply/model.ts'
import {shortDigest} from '../ref/digest.ts'
import {printable} from '../ref/text.ts'
import {formatBytes} from './apply.ts'

export type ProgressMode = 'tty' | 'lines' | 'quiet'

export interface ProgressReporterOptions {
  mode: ProgressMode
  write: (text: string) => void
  /** Period of the `lines` mode's progress lines; 5 s keeps a CI log readable for an hour-long run. */
  intervalMs?: number
  /** The clock for rates and redraw throttling; tests pass a fake one. */
  now?: () => number
  /** The terminal's width: the `tty` status line stays narrower, so it never wraps. */
  width?: number
}

export interface ProgressReporter {
  onEvent(event: ProgressEvent): void
  /** Stops the timer and finishes the output; events after it are ignored. Safe to call twice. */
  stop(): void
}

/** Redrawing more often than this only costs terminal bandwidth: nobody reads ten updates a second. */
const TTY_REDRAW_MS = 100
/**
 * At most this wide, and one column narrower than the terminal: a line that wraps (or fills the last column,
 * where some terminals wrap) can no longer be redrawn in place.
 */
const STATUS_WIDTH = 100
const DEFAULT_INTERVAL_MS = 5000
/** Even without events, the tty line is redrawn this often so a stalled transfer shows a falling rate. */
const TTY_REFRESH_MS = 1000

const CLEAR_TO_EOL = '\x1b[K'

export function progressModeFor(options: {quiet: boolean; isTTY: boolean}): ProgressMode {
  if (options.quiet) return 'quiet'
  return options.isTTY ? 'tty' : 'lines'
}

/** What has happened so far, shared by both visible modes. */
class Progress {
  total: number | null = null
  finished = 0
  bytes = 0
  startedAt: number | null = null
  /** Targets being copied, oldest first: apply copies several entries at once. */
  readonly inFlight: string[] = []

  update(event: ProgressEvent, now: number): void {
    this.startedAt ??= now
    switch (event.kind) {
      case 'started':
        this.total = event.entries
        this.startedAt = now
        break
      case 'entry-started':
        this.inFlight.push(event.target)
        break
      case 'bytes':
        // A delta: the copier reports each uploaded chunk.
        this.bytes += event.bytes
        break
      case 'entry-finished': {
        this.finished++
        const index = this.inFlight.indexOf(event.outcome.target)
        if (index >= 0) this.inFlight.splice(index, 1)
        break
      }
    }
  }

  /** Bytes per second since the run started, averaged: steadier to read than an instantaneous rate. */
  rate(now: number): number {
    const elapsed = this.startedAt === null ? 0 : now - this.startedAt
    return elapsed > 0 ? (this.bytes * 1000) / elapsed : 0
  }

  counts(): string {
    return `${this.finished}/${this.total ?? '?'}`
  }
}

/**
 * `[3/10] 45.2 MB, 12.1 MB/s  copying <target>`, at most `width` characters. A long target loses its
 * beginning, not its end: the registry prefix is the same for every entry, the repository and tag are not.
 */
function statusLine(progress: Progress, now: number, width: number): string {
  const head = `${bar(progress)} ${progress.counts()} ${formatBytes(progress.bytes)}, ${formatBytes(progress.rate(now))}/s`
  // Targets come from the plan file, which anyone may have edited: made printable before measuring.
  const last = progress.inFlight.at(-1)
  if (last === undefined) return head.slice(0, width)
  const current = printable(last)
  const others = progress.inFlight.length - 1
  const more = others > 0 ? ` (+${others} more)` : ''
  const room = width - head.length - '  copying '.length - more.length
  if (room < 2) return head.slice(0, width)
  const target = current.length <= room ? current : `…${current.slice(current.length - room + 1)}`
  return `${head}  copying ${target}${more}`
}

/** Entries done as a bar; blob sizes are unknown until manifests are read, so entries are the honest unit. */
function bar(progress: Progress): string {
  const width = 20
  const done = progress.total ? Math.round((progress.finished / progress.total) * width) : 0
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`
}

function progressLine(progress: Progress, now: number): string {
  return `progress: ${progress.counts()} entries, ${formatBytes(progress.bytes)} transferred, ` + `${formatBytes(progress.rate(now))}/s\n`
}

/** A timer that never keeps the process alive on its own: apply decides when the run is over. */
function unrefInterval(fn: () => void, ms: number): ReturnType<typeof setInterval> {
  const timer = setInterval(fn, ms)
  ;(timer as {unref?: () => unknown}).unref?.()
  return timer
}

export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  if (options.mode === 'quiet') return {onEvent() {}, stop() {}}
  const now = options.now ?? Date.now
  const width = Math.min(STATUS_WIDTH, (options.width ?? STATUS_WIDTH + 1) - 1)
  return options.mode === 'tty' ? ttyReporter(options.write, now, width) : linesReporter(options.write, now, options.intervalMs ?? DEFAULT_INTERVAL_MS)
}

function ttyReporter(write: (text: string) => void, now: () => number, width: number): ProgressReporter {
  const progress = new Progress()
  let timer: ReturnType<typeof setInterval> | null = null
  let stopped = false
  let lastDraw: number | null = null
  let dirty = false

  const draw = () => {
    const at = now()
    write(`\r${statusLine(progress, at, width)}${CLEAR_TO_EOL}`)
    lastDraw = at
    dirty = false
  }
  // Events between two draws only mark the line stale; the timer draws it within TTY_REDRAW_MS.
  const tick = () => {
    if (lastDraw === null || dirty || now() - lastDraw >= TTY_REFRESH_MS) draw()
  }

  return {
    onEvent(event) {
      if (stopped) return
      progress.update(event, now())
      dirty = true
      timer ??= unrefInterval(tick, TTY_REDRAW_MS)
      if (lastDraw === null || now() - lastDraw >= TTY_REDRAW_MS) draw()
    },
    stop() {
      if (stopped) return
      stopped = true
      if (timer !== null) clearInterval(timer)
      if (lastDraw === null) return
      if (dirty) draw()
      // Leaves the last state on screen and moves the cursor off it for whatever is printed next.
      write('\n')
    },
  }
}

function linesReporter(write: (text: string) => void, now: () => number, intervalMs: number): ProgressReporter {
  const progress = new Progress()
  let timer: ReturnType<typeof setInterval> | null = null
  let stopped = false
  let printed = 0

  const periodic = () => {
    write(progressLine(progress, now()))
    printed++
  }

  return {
    onEvent(event) {
      if (stopped) return
      progress.update(event, now())
      timer ??= unrefInterval(periodic, intervalMs)
      if (event.kind !== 'entry-finished') return
      // Told as they happen so a CI log shows a failure next to the time it occurred, not only at the end.
      // Registry messages may carry anything (escape sequences included): one printable line each.
      const {target, result} = event.outcome
      if (result.kind === 'failed') write(`failed: ${printable(target)}: ${printable(result.message)}\n`)
      if (result.kind === 'conflict') {
        write(`conflict: ${printable(target)} holds ${shortDigest(result.targetDigest)}, not overwritten\n`)
      }
    },
    stop() {
      if (stopped) return
      stopped = true
      if (timer !== null) clearInterval(timer)
      // A short run printed no progress line; a final one would only repeat the result table.
      if (printed > 0) periodic()
    },
  }
}
