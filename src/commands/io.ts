/**
 * Where a command writes: the process's stdout and stderr, or whatever the caller of src/main.ts's runCommand
 * gave it (the tests' in-process runner captures them), and the pace its registry requests wait on. oclif
 * constructs the command itself, so both reach it through an async context around the run rather than through
 * the constructor.
 */
import {AsyncLocalStorage} from 'node:async_hooks'
import type {Pace} from '../transport/retry.ts'

export interface Io {
  stdout(text: string): void
  stderr(text: string): void
  /** Whether stderr is a terminal: progress redraws one line there, and prints periodic lines otherwise. */
  readonly stderrIsTTY: boolean
  /** Whether stdout is a terminal: plan and apply then draw their view to its width, with colour unless NO_COLOR. */
  readonly stdoutIsTTY: boolean
  /** The width the terminal reports (stdout's, else stderr's); undefined when neither is one. */
  readonly columns: number | undefined
  /** Resolves when what was written has left: the process's stdout is drained before the process exits. */
  flush(): Promise<void>
  /**
   * The pace of the run's retries and pauses (a 429's Retry-After): absent means the real one (./pace.ts), which
   * is all the binary uses; the in-process test runner gives one that waits for nothing and records the pauses.
   */
  readonly pace?: Pace
}

/** The process's own streams; what the binary writes to. */
export const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  get stderrIsTTY() {
    return Boolean(process.stderr.isTTY)
  },
  get stdoutIsTTY() {
    return Boolean(process.stdout.isTTY)
  },
  get columns() {
    return process.stdout.columns || process.stderr.columns || undefined
  },
  // oclif's buffered output; imported, not loaded: src/main.ts has loaded oclif for the run by then.
  flush: async () => (await import('@oclif/core')).flush(),
}

const scope = new AsyncLocalStorage<Io>()

/** Runs `run` with `io` as the streams of every command it starts. */
export function withIo<T>(io: Io, run: () => T): T {
  return scope.run(io, run)
}

/** The streams of the run in progress: the process's outside withIo. */
export function currentIo(): Io {
  return scope.getStore() ?? processIo
}
