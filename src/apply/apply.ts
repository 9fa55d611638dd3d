/**
 * `apply` as one domain call: reads only the plan file, refuses a plan with conflicts, decodes every entry once
 * (step.ts), then copies every `to-copy` entry (in parallel, bounded). One entry's failure never stops the others.
 */
import {SyncerError} from '../ref/errors.ts'
import type {Plan, PlanEntry, PullBudget} from '../plan/model.ts'
import {readPlanFile, serializePlan} from '../plan/planfile.ts'
import {type PlanPin, verifyPlanSignature} from './plan-signature.ts'
import {type Digest, digestOf} from '../ref/digest.ts'
import {ciRunFromEnv} from '../signatures/provenance.ts'
import type {Stores} from '../registry/handle.ts'
import {type ConnectOptions, connectStores} from '../registry/connect.ts'
import {mapLimit} from '../transport/limiter.ts'
import type {Pace} from '../transport/retry.ts'
import {type Binding, checkPlanBinding} from './binding.ts'
import {CopyEngine} from '../copy/engine.ts'
import {type ApplyRun, copyEntry, type TagGate, unreadableEntry} from './copy-entry.ts'
import type {ProvenanceRun} from './provenance.ts'
import type {MovedSources} from './source-tag.ts'
import {type ApplyStep, decodeSteps, type PlanAge} from './step.ts'
import {TrustStore} from '../signatures/check.ts'
import {type ApplyResult, type EntryOutcome, type ProgressEvent, summarizeOutcomes} from './model.ts'
import {writeResultFile} from './result-file.ts'
import {type Shard, shardEntries} from './shard.ts'
import {DEFAULT_CONCURRENCY, DEFAULT_TRANSFERS} from './defaults.ts'

/** A conflicting-ID entry as the refusal names it. */
type PlannedConflict = Pick<PlanEntry, 'target' | 'sourceDigest' | 'targetDigest'>

export class PlanConflictError extends SyncerError {
  override readonly name = 'PlanConflictError'
  readonly category = 'conflict' as const
  readonly code = 'PLAN_HAS_CONFLICTS'
  constructor(readonly conflicts: readonly PlannedConflict[]) {
    super(
      `the plan has ${conflicts.length} conflicting-ID entr${conflicts.length === 1 ? 'y' : 'ies'}; nothing was written:\n${conflicts.map((e) => `  ${e.target} holds ${e.targetDigest}, the plan's source is ${e.sourceDigest}`).join('\n')}\nResolve them in the definition (another tag) and plan again.`,
    )
  }
}

/** A registry announced fewer pulls left than the plan needs: apply would stall on 429s halfway through. */
class PullBudgetError extends SyncerError {
  override readonly name = 'PullBudgetError'
  readonly category = 'input' as const
  readonly code = 'PULL_BUDGET_TOO_SMALL'
  constructor(readonly budget: PullBudget & {remaining: number}) {
    super(
      `${budget.registry} had ${budget.remaining} pull${budget.remaining === 1 ? '' : 's'} left when planned but this plan needs ${budget.needed}: plan again once the rate limit resets, or pass --ignore-pull-budget`,
    )
  }
}

export interface ApplyOptions {
  /** Entries copied at once. */
  concurrency?: number
  /** Blob transfers at once across all entries. */
  transfers?: number
  /** Whether the plan may be stale; default `reviewed`. */
  planAge?: PlanAge
  /** --allow-moved-sources: `allow` copies the recorded digest of a source tag that moved since planning; default `refuse`. */
  movedSources?: MovedSources
  /** Where signing reads SYNCER_SIGNING_KEY_PASSWORD, SYNCER_OIDC_TOKEN, SYNCER_FULCIO_URL, SYNCER_REKOR_URL. */
  env?: Record<string, string | undefined>
  signal?: AbortSignal
  onProgress?: (event: ProgressEvent) => void
  /** --ignore-pull-budget: start even when a source registry announced fewer pulls left than the plan needs. */
  ignorePullBudget?: boolean
  /** The run's pace (the stores' own, from the connection options): how the copy engine waits between attempts. */
  pace: Pace
  /** The sha256 of the plan file's bytes, for provenance; default: of the plan as it would be written (sync's). */
  planSha256?: Digest
  /** This image-syncer's version, for provenance; default: the version that made the plan. */
  version?: string
}

/** The pace is the connection options' (`registry.pace`). */
export interface ApplyRequest extends Omit<ApplyOptions, 'pace'> {
  planPath: string
  registry: Omit<ConnectOptions, 'targetRegistry'>
  version: string
  /** What the operator named at apply time; checked before anything is sent (see binding.ts). */
  binding?: Binding
  /** --shard: copy only this shard's target repositories (see shard.ts). */
  shard?: Shard
  /** --result: where this run's outcome goes, for `report` to merge. */
  resultPath?: string
  /** --plan-key / --plan-identity: who must have signed the plan file (plan --sign), checked before anything is sent. */
  planPin?: PlanPin
}

export async function runApply(request: ApplyRequest): Promise<ApplyResult> {
  const {plan, sha256} = await readPlanFile(request.planPath)
  if (request.planPin) await verifyPlanSignature(request.planPath, sha256, request.planPin)
  await checkPlanBinding(plan, request.planPath, request.binding ?? {}, request.registry)
  refuseConflicts(plan)
  // Before connecting: a plan that cannot be applied as a whole spends nothing.
  if (!request.ignorePullBudget) refuseShortBudget(plan)
  const stores = await connectStores({...request.registry, targetRepoPrefix: plan.targetRepoPrefix}, request.version)
  const shard = request.shard ?? {index: 1, count: 1}
  const owned = shardEntries(plan.entries, shard)
  // A registry may have quoted a credential in an error message: masked before it is written or shown.
  const applied = await applyPlan({...plan, entries: owned}, stores, {...request, pace: request.registry.pace, planSha256: sha256})
  const result = request.registry.secrets?.maskValue(applied) ?? applied
  if (request.resultPath !== undefined) await writeResultFile(request.resultPath, {plan, sha256}, {shard, owns: owned.map((e) => e.target)}, result)
  return result
}

function refuseConflicts(plan: Plan): void {
  const conflicts = plan.entries.filter((e) => e.action === 'conflicting-ID')
  if (conflicts.length) throw new PlanConflictError(conflicts)
}

export type RunnableStep = Exclude<ApplyStep, {kind: 'conflict'}>

/** The steps of a plan without conflicts; a plan with any is refused before anything is sent. */
function withoutConflicts(steps: readonly ApplyStep[]): RunnableStep[] {
  const conflicts = steps.flatMap((s) => (s.kind === 'conflict' ? [{...s.identity, targetDigest: s.targetDigest}] : []))
  if (conflicts.length) throw new PlanConflictError(conflicts)
  return steps.filter((s): s is RunnableStep => s.kind !== 'conflict')
}

/** Refuses a plan that needs more pulls at a registry than it announced were left (only known budgets count). */
export function refuseShortBudget(plan: Plan): void {
  for (const budget of plan.pulls ?? []) {
    if (budget.remaining !== null && budget.remaining < budget.needed) throw new PullBudgetError({...budget, remaining: budget.remaining})
  }
}

export async function applyPlan(plan: Plan, stores: Stores, options: ApplyOptions): Promise<ApplyResult> {
  const started = performance.now()
  const {signal, onProgress} = options
  const steps = withoutConflicts(await decodeSteps(plan.entries, {planAge: options.planAge ?? 'reviewed', movedSources: options.movedSources ?? 'refuse'}))
  const provenance = provenanceRun(plan, options)
  const run = startRun(stores, options, Promise.resolve({kind: 'open'}), () => provenance)
  onProgress?.({kind: 'started', entries: steps.length})
  const entries = await mapLimit(steps, options.concurrency ?? DEFAULT_CONCURRENCY, (step) => runStep(step, run, onProgress))
  return {entries, summary: summarizeOutcomes(entries), durationMs: performance.now() - started, interrupted: signal?.aborted ?? false}
}

/**
 * What every entry of a run shares (applyPlan's, and sync's, whose tags wait for its whole plan). `provenance` is
 * read only past the tag gate, once the whole plan is known (sync starts copies before it is).
 */
export function startRun(
  stores: Stores,
  options: Omit<ApplyOptions, 'planAge' | 'movedSources'>,
  tags: Promise<TagGate>,
  provenance: () => ProvenanceRun,
): ApplyRun {
  const {signal, onProgress} = options
  const env = options.env ?? process.env
  return {
    stores,
    engine: new CopyEngine({transfers: options.transfers ?? DEFAULT_TRANSFERS, pace: options.pace, ...(signal ? {signal} : {})}),
    signatures: {trust: new TrustStore(), env, signing: new Map(), provenance, ...(signal ? {signal} : {})},
    tags,
    onBytes: (n) => onProgress?.({kind: 'bytes', bytes: n}),
    ...(signal ? {signal} : {}),
  }
}

/** One entry's step, run to its outcome (never throws), told as progress. */
export async function runStep(step: RunnableStep, run: ApplyRun, onProgress?: (event: ProgressEvent) => void): Promise<EntryOutcome> {
  const entryStarted = performance.now()
  let outcome: EntryOutcome = {
    ...step.identity,
    result: {kind: 'already-present'},
    bytes: 0,
    blobs: {uploaded: 0, mounted: 0, present: 0},
    signature: null,
    durationMs: 0,
  }
  if (step.kind === 'copy' || step.kind === 'unreadable') {
    onProgress?.({kind: 'entry-started', target: step.identity.target})
    outcome = {...step.identity, ...(step.kind === 'copy' ? await copyEntry(step.copy, run) : unreadableEntry(step.error, run.signal)), durationMs: 0}
  }
  outcome.durationMs = performance.now() - entryStarted
  onProgress?.({kind: 'entry-finished', outcome})
  return outcome
}

/** What every provenance statement of this run says of the run: the plan, its definition, the tool and the CI run. */
export function provenanceRun(plan: Plan, options: Pick<ApplyOptions, 'env' | 'planSha256' | 'version'>): ProvenanceRun {
  const env = options.env ?? process.env
  return {
    definition: {path: plan.definition.path, sha256: plan.definition.sha256 as Digest},
    plan: {sha256: options.planSha256 ?? digestOf(Buffer.from(serializePlan(plan)))},
    version: options.version ?? plan.tool.version,
    ci: ciRunFromEnv(env),
    startedOn: new Date().toISOString(),
    attaching: new Map(),
  }
}
