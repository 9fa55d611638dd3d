/**
 * Sync's apply, overlapped with its planning: an entry starts copying as soon as it is planned (decoded from
 * exactly what the plan records for it, build.ts planOneEntry), its content placed in the target by digest while
 * other entries are still being observed. Nothing that names content (carried signatures, tags) is written before
 * the whole plan is made and nothing refuses it (a conflict, an entry that could not be planned, a short pull
 * budget): until then every copy waits at the run's tag gate (copy-entry.ts TagGate). So a refused sync tags
 * nothing, as `plan` then `apply` would not; it may leave content behind by digest, which no tag points at.
 * Entries whose source registry announced a pull budget do not start early: the whole plan must show it suffices.
 */
import {type ApplyOptions, provenanceRun, type RunnableStep, runStep, startRun} from '../apply/apply.ts'
import {DEFAULT_CONCURRENCY} from '../apply/defaults.ts'
import type {ApplyRun, TagGate} from '../apply/copy-entry.ts'
import type {ProvenanceRun} from '../apply/provenance.ts'
import {type ApplyResult, type EntryOutcome, type ProgressEvent, summarizeOutcomes} from '../apply/model.ts'
import {type ApplyStep, StepDecoder} from '../apply/step.ts'
import {planOneEntry} from '../plan/build.ts'
import type {Plan, PlanEntry} from '../plan/model.ts'
import type {ObservedEntry} from '../plan/run.ts'
import type {Stores} from '../registry/handle.ts'
import {Limiter} from '../transport/limiter.ts'

type OverlapOptions = Omit<ApplyOptions, 'planAge'>

export class OverlappedApply {
  private readonly decoder: StepDecoder
  private readonly limiter: Limiter
  /** Each started entry's outcome, by its index in the plan. */
  private readonly outcomes = new Map<number, Promise<EntryOutcome>>()
  private run: ApplyRun | null = null
  /** What provenance statements say of the run, known once the whole plan is (applied()). */
  private provenance: ProvenanceRun | null = null
  private openGate: (gate: TagGate) => void = () => {}
  private readonly gate = new Promise<TagGate>((resolve) => {
    this.openGate = resolve
  })
  private state: {kind: 'planning'} | {kind: 'refused'} | {kind: 'open'} = {kind: 'planning'}
  /** Progress before the run's `started` event, told only if the run goes ahead (a refused sync shows none). */
  private pending: ProgressEvent[] = []
  private started: number | null = null

  constructor(private readonly options: OverlapOptions) {
    this.decoder = new StepDecoder({planAge: 'just-made', movedSources: options.movedSources ?? 'refuse'})
    this.limiter = new Limiter(options.concurrency ?? DEFAULT_CONCURRENCY)
  }

  /** computePlan's onObserved: starts the entry's copy, unless it (or an earlier one) already refuses the run. */
  readonly observed = ({stores, entry, index, observation}: ObservedEntry): void => {
    if (this.state.kind !== 'planning') return
    const planned = planOneEntry(entry, observation)
    // buildPlan will fail, or sync refuse, this plan: nothing more is started (the gate closes when planning ends).
    if (planned.kind === 'failed' || planned.entry.action === 'conflicting-ID') {
      this.state = {kind: 'refused'}
      return
    }
    // A registry counting pulls: its entries start once the whole plan's need is known to fit (applied()).
    if (!this.options.ignorePullBudget && stores.rateLimit(entry.sourceRef.registry) !== null) return
    this.start(stores, index, planned.entry)
  }

  /** The plan may be applied as a whole: opens the gate, starts what waited, and returns apply's result. */
  async applied(plan: Plan, stores: Stores): Promise<ApplyResult> {
    // An entry refused the run while it was planned; a plan without that refusal would be a planner bug: no tags.
    if (this.state.kind === 'refused') throw new Error('sync: the plan was refused while it was made, yet came out applicable')
    this.provenance = provenanceRun(plan, this.options)
    this.state = {kind: 'open'}
    this.openGate({kind: 'open'})
    const {onProgress} = this.options
    onProgress?.({kind: 'started', entries: plan.entries.length})
    for (const event of this.pending.splice(0)) onProgress?.(event)
    plan.entries.forEach((entry, index) => {
      if (!this.outcomes.has(index)) this.start(stores, index, entry)
    })
    const entries = await Promise.all(plan.entries.map((_, index) => this.outcomes.get(index)!))
    const {signal} = this.options
    return {entries, summary: summarizeOutcomes(entries), durationMs: performance.now() - this.started!, interrupted: signal?.aborted ?? false}
  }

  /** Refuses the run unless it was opened, then waits for every started copy: none of them writes a tag. */
  async settle(): Promise<void> {
    if (this.state.kind !== 'open') {
      this.state = {kind: 'refused'}
      this.openGate({kind: 'refused'})
    }
    await Promise.allSettled(this.outcomes.values())
  }

  private start(stores: Stores, index: number, entry: PlanEntry): void {
    this.started ??= performance.now()
    this.run ??= startRun(stores, {...this.options, onProgress: (e) => this.progress(e)}, this.gate, () => {
      // Past the gate only, which opens after applied() has set it.
      if (this.provenance === null) throw new Error('sync: provenance was read before the plan was whole')
      return this.provenance
    })
    const run = this.run
    const outcome = this.decoder.decode(entry).then((step) => this.limiter.run(() => runStep(runnable(step), run, (e) => this.progress(e))))
    outcome.catch(() => {})
    this.outcomes.set(index, outcome)
  }

  private progress(event: ProgressEvent): void {
    if (this.state.kind === 'open') {
      this.options.onProgress?.(event)
      return
    }
    const last = this.pending.at(-1)
    // Bytes streamed before the start are told as one event.
    if (event.kind === 'bytes' && last?.kind === 'bytes') last.bytes += event.bytes
    else this.pending.push(event.kind === 'bytes' ? {...event} : event)
  }
}

/** Only conflicting-ID entries decode to a conflict, and those refuse the run before they are started. */
function runnable(step: ApplyStep): RunnableStep {
  if (step.kind === 'conflict') throw new Error(`sync: a conflicting entry (${step.identity.target}) was started`)
  return step
}
