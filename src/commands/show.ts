/** `image-syncer show PLANFILE`: read a saved plan → the view `plan` printed → exit code. */
import {Args, Flags} from '@oclif/core'
import {SyncerCommand} from './base.ts'
import {displayFlags} from './display.ts'
import {ExitCode} from './outcome.ts'

export default class Show extends SyncerCommand {
  static override summary = 'Print a saved plan as `plan` printed it, for an approver or the job that applies it.'
  static override description = `Reads only the plan file (validated as apply reads it) and prints it: on a terminal grouped by action and fitted
to its width, elsewhere one line per entry; --format json prints the plan with every digest whole.

Exit codes: 0 shown; 1 the file is not a plan this image-syncer reads.`

  static override examples = [
    '<%= config.bin %> show plans/external-images.plan.json',
    '<%= config.bin %> show plans/external-images.plan.json --format markdown',
  ]

  static override args = {
    planfile: Args.string({description: 'Plan file written by `image-syncer plan`.', required: true}),
  }

  static override flags = {
    format: Flags.option({description: 'What to print on stdout.', options: ['table', 'markdown', 'json'] as const, default: 'table', env: 'SYNCER_FORMAT'})(),
    ...displayFlags,
  }

  protected async execute(): Promise<ExitCode> {
    const {args, flags} = await this.parse(Show)
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const [{readPlanFile}, {planView}, {renderSignatureFailures}] = await Promise.all([
      import('../plan/planfile.ts'),
      import('../views/display.ts'),
      import('../views/plan.ts'),
    ])
    const {plan} = await readPlanFile(args.planfile)
    const format = this.format(flags)
    const display = this.display(flags['show-present'])
    this.stdout(planView(plan, format, display))
    // As plan does: a terminal's view explains each failed check, logs get them on stderr.
    const failures = format === 'table' && display.kind === 'screen' ? '' : renderSignatureFailures(plan)
    if (failures) this.stderr(failures)
    return ExitCode.Ok
  }
}
