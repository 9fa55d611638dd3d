/** Flags of the commands that copy (apply, and sync's apply phase), each readable from its SYNCER_* variable. */
import {Flags} from '@oclif/core'
import {DEFAULT_CONCURRENCY, DEFAULT_TRANSFERS} from '../apply/defaults.ts'

/** Below this a multi-GB layer takes tens of thousands of requests; above it the one buffered chunk costs too much memory. */
const CHUNK_SIZE_BOUNDS = {min: 64 * 1024, max: 1024 * 1024 * 1024}

const UNITS: Readonly<Record<string, number>> = {'': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3}

/** `16MiB`, `64MB`, `1048576`: a whole number of bytes, in SI (kB, MB, GB) or binary (KiB, MiB, GiB) units. */
export function parseByteSize(input: string, bounds = CHUNK_SIZE_BOUNDS): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(input.trim())
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined
  if (!match || unit === undefined) throw new Error(`"${input}" is not a size: write bytes, or a number with kB, MB, GB, KiB, MiB or GiB (e.g. 16MiB)`)
  const bytes = Math.round(Number(match[1]) * unit)
  if (bytes < bounds.min || bytes > bounds.max) throw new Error(`"${input}" is ${bytes} bytes: a chunk must be between 64KiB and 1GiB`)
  return bytes
}

export const copyFlags = {
  concurrency: Flags.integer({description: 'Entries copied at once.', min: 1, max: 256, default: DEFAULT_CONCURRENCY, env: 'SYNCER_CONCURRENCY'}),
  transfers: Flags.integer({
    description: 'Blob transfers at once across all entries (bounds bytes in flight).',
    min: 1,
    max: 256,
    default: DEFAULT_TRANSFERS,
    env: 'SYNCER_TRANSFERS',
  }),
  format: Flags.option({description: 'What to print on stdout.', options: ['table', 'json'] as const, default: 'table', env: 'SYNCER_FORMAT'})(),
  quiet: Flags.boolean({description: 'No progress on stderr.', env: 'SYNCER_QUIET', default: false}),
  'ignore-pull-budget': Flags.boolean({
    description: 'Start even when a source registry (Docker Hub) announced fewer pulls left than the plan needs.',
    env: 'SYNCER_IGNORE_PULL_BUDGET',
    default: false,
  }),
  'chunk-size': Flags.custom<number>({
    description:
      'Upload blobs in chunks of this size (e.g. 16MiB, 64MB; 64KiB to 1GiB), one request each, instead of one request per blob: for registries or proxies that limit request bodies. One chunk is held in memory. Without it, a registry that refuses a large upload (413) gets 16MiB chunks.',
    env: 'SYNCER_CHUNK_SIZE',
    helpValue: 'SIZE',
    parse: async (input) => parseByteSize(input),
  })(),
}
