/** `image-syncer report --plan PLAN RESULT...`: read the plan and the workers' result files → check and merge → view → exit code. */
import {Args, Flags} from '@oclif/core'
import {SyncerCommand} from './base.ts'
import {displayFlags} from './display.ts'
import {applyExitCode, ExitCode, UsageError} from './outcome.ts'

export default class Report extends SyncerCommand {
  static override summary = 'Merge the result files of sharded apply workers into one report, checked against the plan.'
  static override description = `Reads the files that \`apply --shard i/K --result FILE\` wrote, one per shard, and the plan file the workers
applied (--plan). Every entry of the plan must be accounted for once, by the shard that owns it: results of another
plan or split, one shard twice, an outcome twice, for a target its shard does not own or for another image than
planned, and a finished shard without an outcome for one of its targets are refused, naming them. Shards without a
result file are named, with the number of entries not in the report. --unchecked merges the files without the plan
(results of versions before the plan's sha256 was recorded need it), trusting what they say they own.

Exit codes: 0 every entry of the plan copied or already present; 1 a conflict, a failed entry, a missing shard or a
refused file; 130 a worker was interrupted (run that shard again). In GitHub Actions the report also goes to the step
summary.`

  static override examples = [
    '<%= config.bin %> report --plan plans/external-images.plan.json results/*.json',
    '<%= config.bin %> report --plan plan.json results/*.json --format json',
  ]

  static override strict = false

  static override args = {
    results: Args.string({description: 'Result files written by `apply --result`.', required: true}),
  }

  static override flags = {
    plan: Flags.string({description: 'The plan file the workers applied: every entry of it must be accounted for.', exclusive: ['unchecked']}),
    unchecked: Flags.boolean({description: "Merge without the plan, trusting the files: a missing or forged shard's entries go unseen.", exclusive: ['plan']}),
    format: Flags.option({description: 'What to print on stdout.', options: ['table', 'markdown', 'json'] as const, default: 'table', env: 'SYNCER_FORMAT'})(),
    ...displayFlags,
  }

  protected async execute(): Promise<ExitCode> {
    const {argv, flags} = await this.parse(Report)
    if (flags.plan === undefined && !flags.unchecked)
      throw new UsageError(
        'report needs --plan PLAN, the plan file the workers applied, to check that every entry of it is accounted for (or --unchecked to merge the result files without it)',
      )
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const [{mergeResultFiles}, {renderReport}] = await Promise.all([import('../apply/merge-results.ts'), import('../views/report.ts')])
    const merged = await mergeResultFiles(argv as string[], flags.plan !== undefined ? {kind: 'plan', path: flags.plan} : {kind: 'unchecked'})
    this.stdout(renderReport(merged, this.format(flags), this.display(flags['show-present'])))
    await this.stepSummary(renderReport(merged, 'markdown'))
    const code = applyExitCode(merged.result)
    return code === ExitCode.Ok && (merged.shards.missing.length > 0 || merged.shards.unaccounted > 0) ? ExitCode.Error : code
  }
}
