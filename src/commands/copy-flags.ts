/** Flags of the commands that copy (apply, and sync's apply phase), each readable from its SYNCER_* variable. */
import {Flags} from '@oclif/core'
import {DEFAULT_CONCURRENCY, DEFAULT_TRANSFERS} from '../apply/apply.ts'

export const copyFlags = {
  concurrency: Flags.integer({description: 'Entries copied at once.', min: 1, max: 256, default: DEFAULT_CONCURRENCY, env: 'SYNCER_CONCURRENCY'}),
  transfers: Flags.integer({description: 'Blob transfers at once across all entries (bounds bytes in flight).', min: 1, max: 256, default: DEFAULT_TRANSFERS, env: 'SYNCER_TRANSFERS'}),
  format: Flags.option({description: 'What to print on stdout.', options: ['table', 'json'] as const, default: 'table', env: 'SYNCER_FORMAT'})(),
  quiet: Flags.boolean({description: 'No progress on stderr.', env: 'SYNCER_QUIET', default: false}),
  'ignore-pull-budget': Flags.boolean({description: 'Start even when a source registry (Docker Hub) announced fewer pulls left than the plan needs.', env: 'SYNCER_IGNORE_PULL_BUDGET', default: false}),
}
