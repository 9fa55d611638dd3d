/**
 * `plan` as one domain call: load the definition, observe the registries, build the plan (pure), and save it
 * only when every entry was classified.
 */
import {loadDefinition} from '../definition/load.ts'
import {type ConnectOptions, connectStores} from '../registry/connect.ts'
import type {Stores} from '../registry/handle.ts'
import {buildPlan, type EntryFailure, type PlanResult} from './build.ts'
import type {Plan} from './model.ts'
import {expandRules} from './expand.ts'
import {observeEntries} from './observe.ts'
import type {Observation} from './observation.ts'
import type {DefinitionEntry} from '../definition/resolve.ts'
import {listRuleTags} from './rule-tags.ts'
import {writePlanFile} from './planfile.ts'

export interface PlanRequest {
  definitionPath: string
  outputPath: string
  targetRepoPrefix?: string
  registry: Omit<ConnectOptions, 'targetRegistry'>
  tool: {name: string; version: string}
  signal?: AbortSignal
  now?: () => Date
  /** Told what is worth saying but does not stop the plan (a tag rule that matched nothing). */
  onWarning?: (text: string) => void
}

export type PlanOutcome = {kind: 'planned'; plan: Plan; path: string} | {kind: 'unclassified'; failures: EntryFailure[]}

/** Throws DefinitionError for a bad definition; registry failures per entry come back as `unclassified`. */
export async function runPlan(request: PlanRequest): Promise<PlanOutcome> {
  const {result} = await computePlan(request)
  if (result.kind === 'failed') return {kind: 'unclassified', failures: result.failures}
  // Signature reasons may quote a registry, and so a credential it echoed: masked before the plan is saved.
  const plan = request.registry.secrets?.maskValue(result.plan) ?? result.plan
  await writePlanFile(request.outputPath, plan)
  return {kind: 'planned', plan, path: request.outputPath}
}

/** One entry as soon as it is observed, with the stores that observed it (what `sync` copies it with). */
export interface ObservedEntry {
  stores: Stores
  entry: DefinitionEntry
  /** Its place among the plan's entries (a plan with no failures keeps every entry, in order). */
  index: number
  observation: Observation
}

/**
 * Loads the definition, observes the registries and builds the plan, without saving it; the one-shot mode
 * goes on to apply it with the same stores (and their cached tokens).
 */
export async function computePlan(
  request: Omit<PlanRequest, 'outputPath'>,
  onObserved?: (observed: ObservedEntry) => void,
): Promise<{stores: Stores; result: PlanResult}> {
  const definition = await loadDefinition(request.definitionPath, request.targetRepoPrefix !== undefined ? {targetRepoPrefix: request.targetRepoPrefix} : {})
  const stores = await connectStores({...request.registry, targetRepoPrefix: definition.targetRepoPrefix}, request.tool.version)
  const listing = await listRuleTags(definition.rules, stores, request.signal)
  if (listing.kind === 'failed') return {stores, result: {kind: 'failed', failures: listing.failures}}
  // Collisions a rule creates are definition problems, thrown like the loader's.
  const {entries, rules, warnings} = expandRules(definition, listing.tags)
  for (const warning of warnings) request.onWarning?.(warning)
  const observations = await observeEntries(entries, stores, request.signal, (index, observation) =>
    onObserved?.({stores, entry: entries[index]!, index, observation}),
  )
  // Read after observing: the lowest remaining count any source answer announced.
  const limits = new Map(
    entries.flatMap((e) => {
      const limit = stores.rateLimit(e.sourceRef.registry)
      return limit ? [[e.sourceRef.registry, limit] as const] : []
    }),
  )
  const result = buildPlan(
    entries,
    observations,
    {
      tool: request.tool,
      createdAt: (request.now?.() ?? new Date()).toISOString(),
      definition: {path: definition.path, sha256: definition.sha256},
      targetRepoPrefix: definition.targetRepoPrefix,
      rules,
    },
    limits,
  )
  return {stores, result}
}
