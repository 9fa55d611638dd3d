/** Flags of the commands that copy (apply, and sync's apply phase), each readable from its SYNCER_* variable. */
import {Flags} from '@oclif/core'

export const copyFlags = {
  concurrency: Flags.integer({description: 'Entries copied at once.', min: 1, max: 64, default: 4, env: 'SYNCER_CONCURRENCY'}),
  format: Flags.option({description: 'What to print on stdout.', options: ['table', 'json'] as const, default: 'table', env: 'SYNCER_FORMAT'})(),
  quiet: Flags.boolean({description: 'No progress on stderr.', env: 'SYNCER_QUIET', default: false}),
  'ignore-pull-budget': Flags.boolean({description: 'Start even when a source registry (Docker Hub) announced fewer pulls left than the plan needs.', env: 'SYNCER_IGNORE_PULL_BUDGET', default: false}),
}
