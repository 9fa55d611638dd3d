/** `image-syncer report RESULT...`: read the apply workers' result files → merge → view → exit code. */
import {Args, Flags} from '@oclif/core'
import {mergeResultFiles} from '../apply/result-file.ts'
import {renderReport} from '../views/report.ts'
import {SyncerCommand} from './base.ts'
import {applyExitCode, ExitCode} from './outcome.ts'

export default class Report extends SyncerCommand {
  static override summary = 'Merge the result files of sharded apply workers into one report.'
  static override description = `Reads the files that \`apply --shard i/K --result FILE\` wrote, one per shard. Results of different plans, of
different splits, or one shard twice are refused; shards without a result file are named.

Exit codes: 0 every entry of every shard copied or already present; 1 a conflict, a failed entry or a missing shard;
130 a worker was interrupted (run that shard again). In GitHub Actions the report also goes to the step summary.`

  static override examples = ['<%= config.bin %> report results/*.json', '<%= config.bin %> report results/*.json --format json']

  static override strict = false

  static override args = {
    results: Args.string({description: 'Result files written by `apply --result`.', required: true}),
  }

  static override flags = {
    format: Flags.option({description: 'What to print on stdout.', options: ['table', 'markdown', 'json'] as const, default: 'table', env: 'SYNCER_FORMAT'})(),
  }

  protected async execute(): Promise<ExitCode> {
    const {argv, flags} = await this.parse(Report)
    const merged = await mergeResultFiles(argv as string[])
    this.stdout(renderReport(merged, this.format(flags)))
    await this.stepSummary(renderReport(merged, 'markdown'))
    const code = applyExitCode(merged.result)
    return code === ExitCode.Ok && merged.shards.missing.length > 0 ? ExitCode.Error : code
  }
}
