/** `image-syncer apply PLANFILE`: parse flags → runApply → view → exit code. */
import {Args, Command, Flags} from '@oclif/core'
import {runApply} from '../apply/apply.ts'
import {renderApplyResult} from '../views/apply.ts'
import {createProgressReporter, progressModeFor} from '../views/progress.ts'
import {interruption} from './interrupt.ts'
import {applyExitCode, ExitCode, reportUserError} from './outcome.ts'
import {registryFlags, registryOptions} from './registry-flags.ts'

export default class Apply extends Command {
  static override summary = 'Execute a saved plan: copy every to-copy entry, exactly as planned.'
  static override description = `Reads only the plan file. A plan with conflicting-ID entries is refused, and so is one that needs more
pulls at a source registry than it announced were left when planned (unless --ignore-pull-budget). Each to-copy target tag is
checked again right before writing: a tag that appeared since the plan is never overwritten (reported as a
conflict; the other entries go on). The planned digest is copied (by digest, not by the source tag), blobs first,
manifests by digest, the tag last.

Exit codes: 0 every entry copied or already present; 1 otherwise; 130 interrupted (run apply again to finish).`

  static override examples = ['<%= config.bin %> apply plans/external-images.plan.json', '<%= config.bin %> apply plan.json --format json --quiet']

  static override args = {
    planfile: Args.string({description: 'Plan file written by `image-syncer plan`.', required: true}),
  }

  static override flags = {
    concurrency: Flags.integer({description: 'Entries copied at once.', min: 1, max: 64, default: 4, env: 'SYNCER_CONCURRENCY'}),
    format: Flags.option({description: 'What to print on stdout.', options: ['table', 'json'] as const, default: 'table', env: 'SYNCER_FORMAT'})(),
    quiet: Flags.boolean({description: 'No progress on stderr.', env: 'SYNCER_QUIET', default: false}),
    'ignore-pull-budget': Flags.boolean({description: 'Start even when a source registry (Docker Hub) announced fewer pulls left than the plan needs.', env: 'SYNCER_IGNORE_PULL_BUDGET', default: false}),
    ...registryFlags,
  }

  async run(): Promise<ExitCode> {
    const {args, flags} = await this.parse(Apply)
    const stderr = (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
    const progress = createProgressReporter({mode: progressModeFor({quiet: flags.quiet, isTTY: Boolean(process.stderr.isTTY)}), write: (t) => process.stderr.write(t)})
    const interrupt = interruption()
    try {
      const result = await runApply({
        planPath: args.planfile,
        concurrency: flags.concurrency,
        ignorePullBudget: flags['ignore-pull-budget'],
        registry: registryOptions(flags, process.env, stderr),
        version: this.config.version,
        signal: interrupt.signal,
        onProgress: (e) => progress.onEvent(e),
      })
      progress.stop()
      process.stdout.write(renderApplyResult(result, flags.format))
      return applyExitCode(result)
    } catch (err) {
      progress.stop()
      return reportUserError(err, stderr)
    } finally {
      interrupt.dispose()
    }
  }
}
