/** `image-syncer apply PLANFILE`: parse flags → runApply → view → exit code. */
import {Args, Flags} from '@oclif/core'
import {parseShard, type Shard, shardEntries, shardFromEnv} from '../apply/shard.ts'
import type {Display} from '../views/screen.ts'
import {SyncerCommand} from './base.ts'
import {displayFlags} from './display.ts'
import {applyExitCode, type ExitCode} from './outcome.ts'
import {copyFlags} from './copy-flags.ts'
import {registryFlags} from './registry-flags.ts'
import {parseIdentity} from './verify.ts'
import type {PlanPin} from '../apply/plan-signature.ts'

export default class Apply extends SyncerCommand {
  static override summary = 'Execute a saved plan: copy every to-copy entry, exactly as planned.'
  static override description = `Reads only the plan file. A plan with conflicting-ID entries is refused, and so is one that needs more
pulls at a source registry than it announced were left when planned (unless --ignore-pull-budget). Each to-copy target tag is
checked again right before writing: a tag that appeared since the plan is never overwritten (reported as a
conflict; the other entries go on). Each source read by tag is looked at (one HEAD): an entry whose source tag no
longer resolves to what the plan recorded fails as a stale plan, unless --allow-moved-sources. The planned digest is
copied (by digest, not by the source tag), blobs first, manifests by digest, the tag last.

Before anything is sent, a plan that contradicts itself, that writes outside --target-repo-prefix, or (with
--definition) that does not follow from the reviewed definition file is refused. --access-token and
--target-repo-auth-key need --target-repo-prefix: they go to that registry only.

A signed plan (plan --sign): --plan-key PEM or --plan-identity ISSUER=SUBJECT (--plan-identity-regexp) refuses, before
any request to a registry, a plan whose PLAN.sigstore.json is missing, does not verify over the plan file's bytes, or
is from another signer.

Many machines: --shard i/K (counted from 1) copies only the i-th of K parts of the plan, split by target
repository (all tags of one repository in one part), the same split on every machine; --shard-from-env --shards K
takes i from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job, counted from 0). Each worker writes --result FILE;
\`image-syncer report\` merges them.

Exit codes: 0 every entry copied or already present; 1 otherwise; 130 interrupted (run apply again to finish).`

  static override examples = [
    '<%= config.bin %> apply plans/external-images.plan.json',
    '<%= config.bin %> apply plans/external-images.plan.json --definition external-images.yaml --target-repo-prefix eu.gcr.io/kyma-project/external/ --access-token "$TOKEN"',
    '<%= config.bin %> apply plan.json --format json --quiet',
    '<%= config.bin %> apply plan.json --shard 2/4 --result results/2.json',
  ]

  static override args = {
    planfile: Args.string({description: 'Plan file written by `image-syncer plan`.', required: true}),
  }

  static override flags = {
    'target-repo-prefix': Flags.string({
      description:
        'The target this apply may write to: a plan whose targets lie elsewhere is refused. Required with --access-token or --target-repo-auth-key, which go to this registry only.',
      env: 'SYNCER_TARGET_REPO_PREFIX',
    }),
    definition: Flags.string({
      description: 'The reviewed definition file: refuse a plan not made from exactly this file, or whose entries do not follow from it.',
      env: 'SYNCER_DEFINITION',
    }),
    shard: Flags.string({
      description: 'Copy only part i of K of the plan (i counted from 1), e.g. 2/4: the plan split by target repository.',
      exclusive: ['shard-from-env'],
    }),
    'shard-from-env': Flags.boolean({
      description: 'Take the part from JOB_COMPLETION_INDEX (Kubernetes Indexed Job, counted from 0); needs --shards.',
      dependsOn: ['shards'],
    }),
    shards: Flags.integer({
      description: "The number of parts, with --shard-from-env (the Job's completions).",
      min: 1,
      max: 1000,
      dependsOn: ['shard-from-env'],
    }),
    result: Flags.string({description: 'Write what this run did to FILE (JSON), for `image-syncer report` to merge.', env: 'SYNCER_RESULT'}),
    'allow-moved-sources': Flags.boolean({
      description:
        'Copy the recorded digest even when a source tag no longer resolves to what the plan recorded (default: such an entry fails as a stale plan).',
      env: 'SYNCER_ALLOW_MOVED_SOURCES',
      default: false,
    }),
    'plan-key': Flags.string({
      description: 'Refuse the plan unless PLAN.sigstore.json beside it (plan --sign) verifies with this PEM public key.',
      env: 'SYNCER_PLAN_KEY',
      exclusive: ['plan-identity', 'plan-identity-regexp'],
    }),
    'plan-identity': Flags.string({
      description: 'Refuse the plan unless PLAN.sigstore.json beside it verifies as signed keyless by ISSUER=SUBJECT (the planning workflow).',
      env: 'SYNCER_PLAN_IDENTITY',
      exclusive: ['plan-identity-regexp'],
    }),
    'plan-identity-regexp': Flags.string({
      description:
        'As --plan-identity with an anchored regular expression for the subject, e.g. the plan workflow on any pull request (refs/pull/[0-9]+/merge).',
      env: 'SYNCER_PLAN_IDENTITY_REGEXP',
    }),
    'plan-trusted-root': Flags.string({description: 'Sigstore TrustedRoot JSON for --plan-identity; default: the public-good root.'}),
    ...copyFlags,
    ...displayFlags,
    ...registryFlags,
  }

  protected async execute(): Promise<ExitCode> {
    const {args, flags} = await this.parse(Apply)
    const format = this.format(flags)
    const display = this.display(flags['show-present'])
    const shard = flags.shard !== undefined ? parseShard(flags.shard) : flags['shard-from-env'] ? shardFromEnv(process.env, flags.shards!) : undefined
    if (format === 'table' && display.kind === 'screen') await this.preview(args.planfile, shard, display)
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const [{runApply}, {applyView}, {applyConflictAnnotations, applySummary}] = await Promise.all([
      import('../apply/apply.ts'),
      import('../views/display.ts'),
      import('../views/github.ts'),
    ])
    const progress = await this.progress(flags.quiet)
    const result = await runApply({
      planPath: args.planfile,
      concurrency: flags.concurrency,
      transfers: flags.transfers,
      ignorePullBudget: flags['ignore-pull-budget'],
      movedSources: flags['allow-moved-sources'] ? 'allow' : 'refuse',
      registry: this.registry(flags),
      version: this.config.version,
      ...(shard !== undefined ? {shard} : {}),
      ...(flags.result !== undefined ? {resultPath: flags.result} : {}),
      ...planPin(flags),
      binding: {
        ...(flags['target-repo-prefix'] !== undefined ? {targetRepoPrefix: flags['target-repo-prefix']} : {}),
        ...(flags.definition !== undefined ? {definitionPath: flags.definition} : {}),
      },
      signal: this.signal,
      onProgress: (e) => progress.onEvent(e),
    })
    progress.stop()
    this.stdout(applyView(result, format, display))
    this.annotate(applyConflictAnnotations(result))
    await this.stepSummary(applySummary(result))
    return applyExitCode(result)
  }

  /**
   * On a terminal, what is about to run, as `plan` and `show` print it (this shard's part of it), before anything
   * is sent. A plan file that cannot be read is told by apply itself, in the same words.
   */
  private async preview(path: string, shard: Shard | undefined, display: Display): Promise<void> {
    const [{readPlanFile}, {summarize}, {planView}] = await Promise.all([
      import('../plan/planfile.ts'),
      import('../plan/model.ts'),
      import('../views/display.ts'),
    ])
    const {plan} = await readPlanFile(path)
    const entries = shard ? shardEntries(plan.entries, shard) : plan.entries
    const heading = shard ? `Shard ${shard.index}/${shard.count}: ${entries.length} of the plan's ${plan.entries.length} entries.\n` : ''
    this.stdout(`${heading}${planView({...plan, entries, summary: summarize(entries)}, 'table', display)}\n`)
  }
}

/** --plan-key or --plan-identity, as the plan signature apply insists on. */
function planPin(flags: {'plan-key'?: string; 'plan-identity'?: string; 'plan-identity-regexp'?: string; 'plan-trusted-root'?: string}): {
  planPin?: PlanPin
} {
  if (flags['plan-key'] !== undefined) return {planPin: {kind: 'key', keyPath: flags['plan-key']}}
  const exact = flags['plan-identity']
  const pattern = flags['plan-identity-regexp']
  if (exact === undefined && pattern === undefined) return {}
  const root = flags['plan-trusted-root']
  return {
    planPin: {
      kind: 'identity',
      identity: exact !== undefined ? parseIdentity(exact, 'exact') : parseIdentity(pattern!, 'regexp'),
      trustedRoot: root === undefined ? {kind: 'public-good'} : {kind: 'file', path: root},
    },
  }
}
