/** `image-syncer plan`: parse flags → runPlan → view → exit code. */
import {Flags} from '@oclif/core'
import {basename, extname, join} from 'node:path'
import {readFile} from 'node:fs/promises'
import type {PlanFormat} from '../views/plan.ts'
import {OPEN_TABLE_ENTRIES} from '../views/plan-markdown-limits.ts'
import {SyncerCommand} from './base.ts'
import {displayFlags} from './display.ts'
import {registryFlags} from './registry-flags.ts'
import {ExitCode} from './outcome.ts'

export default class Plan extends SyncerCommand {
  static override summary = 'Compute what to copy and save it as a plan file for review.'
  static override description = `For each image of the definition file, resolves the source to a digest and checks the target tag:
absent → to-copy, same digest → already-present, another digest → conflicting-ID (never overwritten).
The plan is written only when every entry was classified.

Exit codes: 0 planned, no conflict; 1 a conflict, a failed signature check or an error; 2 (with --detailed-exitcode) something to copy and no conflict.`

  static override examples = [
    '<%= config.bin %> plan -i external-images.yaml',
    '<%= config.bin %> plan -i external-images.yaml --format markdown --detailed-exitcode',
  ]

  static override flags = {
    'images-file': Flags.string({char: 'i', description: 'Definition file (YAML).', env: 'SYNCER_IMAGES_FILE', required: true}),
    output: Flags.string({char: 'o', description: 'Plan file to write. Default: plans/<images-file-basename>.plan.json', env: 'SYNCER_OUTPUT'}),
    format: Flags.option({
      description: `What to print on stdout. markdown: the counts first, then conflicts and failed signature checks by name; past ${OPEN_TABLE_ENTRIES} entries, the rows collapsed in <details>.`,
      options: ['table', 'json', 'markdown'] as const,
      default: 'table',
      env: 'SYNCER_FORMAT',
    })(),
    'detailed-exitcode': Flags.boolean({
      description: 'Exit 2 when there is something to copy and no conflict.',
      env: 'SYNCER_DETAILED_EXITCODE',
      default: false,
    }),
    'target-repo-prefix': Flags.string({description: 'Overrides targetRepoPrefix of the definition file.', env: 'SYNCER_TARGET_REPO_PREFIX'}),
    sign: Flags.boolean({
      description:
        'Sign the plan file: PLAN.sigstore.json beside it, with --signing-key, else keyless (SYNCER_OIDC_TOKEN or GitHub Actions with id-token: write).',
      env: 'SYNCER_SIGN_PLAN',
      default: false,
    }),
    'signing-key': Flags.string({description: 'PEM private key for --sign (password from SYNCER_SIGNING_KEY_PASSWORD).', dependsOn: ['sign']}),
    ...displayFlags,
    ...registryFlags,
  }

  protected async execute(): Promise<ExitCode> {
    const {flags} = await this.parse(Plan)
    const definitionPath = flags['images-file']
    const outputPath = flags.output ?? join('plans', `${basename(definitionPath, extname(definitionPath))}.plan.json`)
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const [{runPlan}, {renderFailures}, {conflictAnnotations, failureAnnotations, planSummary}] = await Promise.all([
      import('../plan/run.ts'),
      import('../views/failures.ts'),
      import('../views/github.ts'),
    ])
    const outcome = await runPlan({
      definitionPath,
      outputPath,
      ...(flags['target-repo-prefix'] !== undefined ? {targetRepoPrefix: flags['target-repo-prefix']} : {}),
      registry: this.registry(flags),
      tool: {name: this.config.name, version: this.config.version},
      signal: this.signal,
      onWarning: (text) => this.warning(text),
    })
    if (this.signal.aborted) return ExitCode.Interrupted
    if (outcome.kind === 'unclassified') {
      this.stderr(renderFailures(definitionPath, outcome.failures))
      this.annotate(failureAnnotations(definitionPath, outcome.failures))
      return ExitCode.Error
    }
    const [{planView}, {renderSignatureFailures}] = await Promise.all([import('../views/display.ts'), import('../views/plan.ts')])
    const format = this.format(flags) as PlanFormat
    const display = this.display(flags['show-present'])
    this.stdout(planView(outcome.plan, format, display))
    // A terminal's view already explains each failed check; logs get them on stderr, as before.
    const failures = format === 'table' && display.kind === 'screen' ? '' : renderSignatureFailures(outcome.plan)
    if (failures) this.stderr(failures)
    this.stderr(`Plan written to ${outcome.path}`)
    if (flags.sign) {
      const key = flags['signing-key']
      const {signPlanFile} = await import('../plan/plan-sign.ts')
      this.stderr(`Plan signed: ${await signPlanFile(outcome.path, key === undefined ? {kind: 'keyless'} : {kind: 'key', keyPath: key}, process.env)}`)
    }
    if (this.github) {
      if (outcome.plan.summary.conflicting > 0) this.annotate(conflictAnnotations(outcome.plan, definitionPath, await readFile(definitionPath, 'utf8')))
      await this.stepSummary(planSummary(outcome.plan, outcome.path))
    }
    const {toCopy, conflicting, signatureFailures} = outcome.plan.summary
    if (conflicting > 0 || signatureFailures > 0) return ExitCode.Error
    return flags['detailed-exitcode'] && toCopy > 0 ? ExitCode.Changes : ExitCode.Ok
  }
}
