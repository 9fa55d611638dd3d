/**
 * Where a command writes: the process's stdout and stderr, or whatever the caller of src/main.ts's runCommand
 * gave it (the tests' in-process runner captures them). oclif constructs the command itself, so the streams
 * reach it through an async context around the run rather than through the constructor.
 */
import {AsyncLocalStorage} from 'node:async_hooks'

export interface Io {
  stdout(text: string): void
  stderr(text: string): void
  /** Whether stderr is a terminal: progress redraws one line there, and prints periodic lines otherwise. */
  readonly stderrIsTTY: boolean
  /** Resolves when what was written has left: the process's stdout is drained before the process exits. */
  flush(): Promise<void>
}

/** The process's own streams; what the binary writes to. */
export const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  get stderrIsTTY() {
    return Boolean(process.stderr.isTTY)
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
