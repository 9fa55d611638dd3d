/**
 * The seed's one-shot mode: plan, then apply that plan at once (no review in between). `--dry-run` stops after
 * the plan. A plan with conflicts is not applied, as `apply` would refuse it. Applying overlaps planning: each
 * entry's content is copied as soon as it is planned, and nothing is tagged before the whole plan is made and
 * found applicable (overlap.ts), so the outcome is the one plan + apply would have.
 */
import {type ApplyOptions, refuseShortBudget} from '../apply/apply.ts'
import type {ApplyResult} from '../apply/model.ts'
import type {EntryFailure} from '../plan/build.ts'
import type {Plan, PlanEntry} from '../plan/model.ts'
import {computePlan, type PlanRequest} from '../plan/run.ts'
import {OverlappedApply} from './overlap.ts'

/** The pace is the connection options' (`registry.pace`), for planning and applying alike. */
export interface SyncRequest extends Omit<PlanRequest, 'outputPath'>, Omit<ApplyOptions, 'pace'> {
  dryRun: boolean
}

export type SyncApply = {kind: 'dry-run'} | {kind: 'refused'; conflicts: PlanEntry[]} | {kind: 'applied'; result: ApplyResult}

export type SyncOutcome = {kind: 'unclassified'; failures: EntryFailure[]} | {kind: 'planned'; plan: Plan; apply: SyncApply}

export async function runSync(request: SyncRequest): Promise<SyncOutcome> {
  if (request.dryRun) {
    const {result} = await computePlan(request)
    if (result.kind === 'failed') return {kind: 'unclassified', failures: result.failures}
    return {kind: 'planned', plan: result.plan, apply: {kind: 'dry-run'}}
  }
  const overlap = new OverlappedApply({...request, pace: request.registry.pace})
  try {
    const {stores, result} = await computePlan(request, overlap.observed)
    if (result.kind === 'failed') return {kind: 'unclassified', failures: result.failures}
    const plan = result.plan
    const conflicts = plan.entries.filter((e) => e.action === 'conflicting-ID')
    if (conflicts.length) return {kind: 'planned', plan, apply: {kind: 'refused', conflicts}}
    // As apply would: a run that stalls on 429s halfway through is worse than one that does not start.
    if (!request.ignorePullBudget) refuseShortBudget(plan)
    return {kind: 'planned', plan, apply: {kind: 'applied', result: await overlap.applied(plan, stores)}}
  } finally {
    // Every way out but `applied` (a refusal, a failure, a throw) closes the gate: what was started tags nothing.
    await overlap.settle()
  }
}
