/** `image-syncer apply PLANFILE`: parse flags → runApply → view → exit code. */
import {Args, Flags} from '@oclif/core'
import {parseShard, shardFromEnv} from '../apply/shard.ts'
import {SyncerCommand} from './base.ts'
import {applyExitCode, type ExitCode} from './outcome.ts'
import {copyFlags} from './copy-flags.ts'
import {registryFlags} from './registry-flags.ts'

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
    ...copyFlags,
    ...registryFlags,
  }

  protected async execute(): Promise<ExitCode> {
    const {args, flags} = await this.parse(Apply)
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const {runApply} = await import('../apply/apply.ts')
    const progress = await this.progress(flags.quiet)
    const result = await runApply({
      planPath: args.planfile,
      concurrency: flags.concurrency,
      transfers: flags.transfers,
      ignorePullBudget: flags['ignore-pull-budget'],
      movedSources: flags['allow-moved-sources'] ? 'allow' : 'refuse',
      registry: this.registry(flags),
      version: this.config.version,
      ...(flags.shard !== undefined ? {shard: parseShard(flags.shard)} : flags['shard-from-env'] ? {shard: shardFromEnv(process.env, flags.shards!)} : {}),
      ...(flags.result !== undefined ? {resultPath: flags.result} : {}),
      binding: {
        ...(flags['target-repo-prefix'] !== undefined ? {targetRepoPrefix: flags['target-repo-prefix']} : {}),
        ...(flags.definition !== undefined ? {definitionPath: flags.definition} : {}),
      },
      signal: this.signal,
      onProgress: (e) => progress.onEvent(e),
    })
    progress.stop()
    const [{renderApplyResult}, {applyConflictAnnotations, applySummary}] = await Promise.all([import('../views/apply.ts'), import('../views/github.ts')])
    this.stdout(renderApplyResult(result, this.format(flags)))
    this.annotate(applyConflictAnnotations(result))
    await this.stepSummary(applySummary(result))
    return applyExitCode(result)
  }
}
