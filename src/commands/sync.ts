/**
 * `image-syncer sync` (also what `image-syncer --images-file FILE` runs): the seed's one-shot mode, plan then
 * apply in one go. parse flags → runSync → views → exit code.
 */
import {Flags} from '@oclif/core'
import {printableJson} from '../ref/text.ts'
import {SyncerCommand} from './base.ts'
import {displayFlags} from './display.ts'
import {applyExitCode, ExitCode} from './outcome.ts'
import {copyFlags} from './copy-flags.ts'
import {registryFlags} from './registry-flags.ts'

export default class Sync extends SyncerCommand {
  static override summary = 'Plan and apply in one go (the one-shot mode; also runs when no command is given).'
  static override description = `Plans the definition file like \`plan\`, prints the plan, then applies it like \`apply\` without saving it.
With --dry-run it stops after the plan and changes nothing. A plan with conflicting-ID entries is not applied.

Exit codes: 0 everything copied or present (with --dry-run: planned, no conflict); 1 a conflict or an error; 130 interrupted.`

  static override examples = ['<%= config.bin %> --images-file external-images.yaml', '<%= config.bin %> sync -i external-images.yaml --dry-run']

  static override flags = {
    'images-file': Flags.string({char: 'i', description: 'Definition file (YAML).', env: 'SYNCER_IMAGES_FILE', required: true}),
    'dry-run': Flags.boolean({description: 'Plan only; change nothing.', env: 'SYNCER_DRY_RUN', default: false}),
    'target-repo-prefix': Flags.string({description: 'Overrides targetRepoPrefix of the definition file.', env: 'SYNCER_TARGET_REPO_PREFIX'}),
    ...copyFlags,
    ...displayFlags,
    ...registryFlags,
  }

  protected async execute(): Promise<ExitCode> {
    const {flags} = await this.parse(Sync)
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const [{runSync}, {applyView, planView}, {renderFailures}] = await Promise.all([
      import('../sync/run.ts'),
      import('../views/display.ts'),
      import('../views/failures.ts'),
    ])
    const progress = await this.progress(flags.quiet)
    const outcome = await runSync({
      definitionPath: flags['images-file'],
      dryRun: flags['dry-run'],
      concurrency: flags.concurrency,
      transfers: flags.transfers,
      ignorePullBudget: flags['ignore-pull-budget'],
      ...(flags['target-repo-prefix'] !== undefined ? {targetRepoPrefix: flags['target-repo-prefix']} : {}),
      registry: this.registry(flags),
      tool: {name: this.config.name, version: this.config.version},
      signal: this.signal,
      onWarning: (text) => this.warning(text),
      onProgress: (e) => progress.onEvent(e),
    })
    progress.stop()
    // Planning cut short by an interrupt looks like unreachable entries; it is not.
    if (this.signal.aborted) return ExitCode.Interrupted
    if (outcome.kind === 'unclassified') {
      this.stderr(renderFailures(flags['images-file'], outcome.failures))
      return ExitCode.Error
    }
    const {plan, apply} = outcome
    if (this.format(flags) === 'json') {
      this.stdout(`${printableJson({plan, apply: apply.kind === 'applied' ? apply.result : {kind: apply.kind}})}\n`)
    } else {
      const display = this.display(flags['show-present'])
      this.stdout(planView(plan, 'table', display))
      if (apply.kind === 'applied') this.stdout(`\n${applyView(apply.result, 'table', display)}`)
    }
    if (apply.kind === 'dry-run') return plan.summary.conflicting > 0 ? ExitCode.Error : ExitCode.Ok
    if (apply.kind === 'refused') {
      this.stderr(
        `Not applied: ${apply.conflicts.length} conflicting-ID entr${apply.conflicts.length === 1 ? 'y' : 'ies'} (target tags holding other content are never overwritten).`,
      )
      return ExitCode.Error
    }
    return applyExitCode(apply.result)
  }
}
