/**
 * `report`: the result files of one sharded apply merged into one result, and checked first. Against the plan file
 * (`--plan`), every entry of the plan must be accounted for exactly once, by the shard that owns it: a result of
 * another plan or split, an outcome twice, for a target the shard does not own, for another image than planned,
 * or a finished shard without an outcome for one of its targets is refused, naming it. Without the plan
 * (`--unchecked`), the files are checked against the targets they say they own, which a forged file can lie about.
 */
import type {PlanEntry} from '../plan/model.ts'
import {type PlanFile, readPlanFile} from '../plan/planfile.ts'
import {abbreviate} from '../ref/text.ts'
import {type ApplyResult, type EntryOutcome, summarizeOutcomes} from './model.ts'
import {readResultFiles, type ResultFile, ResultFileError} from './result-file.ts'
import {assignRepositories, targetRepository} from './shard.ts'

/** What the results are checked against: the plan file, or (the user's explicit choice) only each other. */
export type ResultCheck = {kind: 'plan'; path: string} | {kind: 'unchecked'}

/** All shards' results as one apply result, and what is not in it. */
export interface MergedResults {
  result: ApplyResult
  /** `unaccounted`: plan entries without an outcome (missing or interrupted shards); known with the plan only. */
  shards: {count: number; missing: number[]; unaccounted: number}
  /** The plan file the results were checked against; null with --unchecked. */
  plan: string | null
}

type Read = {path: string; file: ResultFile}

export async function mergeResultFiles(paths: readonly string[], check: ResultCheck): Promise<MergedResults> {
  if (paths.length === 0) throw new ResultFileError('no result files given: name the files the apply workers wrote with --result')
  const planned = check.kind === 'plan' ? await readPlanFile(check.path) : null
  const files = await readResultFiles(paths)
  // Against the plan first: "another plan than PLAN" says more than "another plan than the first file".
  if (check.kind === 'plan') for (const read of files) checkPlanOf(read, planned!, check.path)
  const count = checkOneSplit(files)
  const owners = planned ? ownersInPlan(planned.plan.entries, count) : ownersClaimed(files)
  const entries = checkEntries(files, owners, planned ? new Map(planned.plan.entries.map((e) => [e.target, e])) : null)
  const seen = new Set(files.map(({file}) => file.shard.index))
  const missing = Array.from({length: count}, (_, i) => i + 1).filter((i) => !seen.has(i))
  const result: ApplyResult = {
    entries,
    summary: summarizeOutcomes(entries),
    // The workers ran side by side: the whole took as long as the slowest.
    durationMs: Math.max(...files.map(({file}) => file.durationMs)),
    interrupted: files.some(({file}) => file.interrupted),
  }
  const unaccounted = planned ? planned.plan.entries.length - entries.length : 0
  return {result, shards: {count, missing, unaccounted}, plan: check.kind === 'plan' ? check.path : null}
}

/** One plan, one split, each shard once; returns the number of shards. */
function checkOneSplit(files: readonly Read[]): number {
  const first = files[0]!
  const seen = new Map<number, string>()
  for (const {path, file} of files) {
    const samePlan =
      'owns' in file && 'owns' in first.file
        ? file.plan.sha256 === first.file.plan.sha256
        : file.plan.definitionSha256 === first.file.plan.definitionSha256 && file.plan.createdAt === first.file.plan.createdAt
    if (!samePlan)
      throw new ResultFileError(
        `${path} is the result of another plan (made ${file.plan.createdAt}) than ${first.path} (made ${first.file.plan.createdAt}): merge the results of one plan only`,
      )
    if (file.shard.count !== first.file.shard.count)
      throw new ResultFileError(
        `${path} is shard ${file.shard.index}/${file.shard.count} but ${first.path} is one of ${first.file.shard.count} shards: merge one split of the plan only`,
      )
    const twice = seen.get(file.shard.index)
    if (twice !== undefined)
      throw new ResultFileError(`${path} and ${twice} are both shard ${file.shard.index}/${file.shard.count}: keep the result of one run of each shard`)
    seen.set(file.shard.index, path)
  }
  return first.file.shard.count
}

function checkPlanOf({path, file}: Read, planned: PlanFile, planPath: string): void {
  if (!('owns' in file))
    throw new ResultFileError(
      `${path} was written by an older image-syncer (result format version 1), which does not record the plan it applied, so it cannot be checked against ${planPath}: run that shard again with this version, or report with --unchecked`,
    )
  if (file.plan.sha256 !== planned.sha256)
    throw new ResultFileError(
      `${path} is the result of another plan file (${file.plan.sha256.slice(0, 19)}…, made ${file.plan.createdAt}) than ${planPath} (${planned.sha256.slice(0, 19)}…): report with the plan the workers applied`,
    )
}

/** target → the shard that owns it, as the plan splits it (shard.ts). */
function ownersInPlan(entries: readonly PlanEntry[], count: number): Map<string, number> {
  const repositories = assignRepositories(entries, count)
  return new Map(entries.map((e) => [e.target, repositories.get(targetRepository(e))!]))
}

/** target → shard, as the (version 2) files say; two files that claim one target are refused. */
function ownersClaimed(files: readonly Read[]): Map<string, number> {
  const owners = new Map<string, number>()
  for (const {path, file} of files) {
    if (!('owns' in file)) continue
    for (const target of file.owns) {
      const other = owners.get(target)
      if (other !== undefined)
        throw new ResultFileError(
          `${path} (shard ${file.shard.index}/${file.shard.count}) and shard ${other}/${file.shard.count} both own ${quote(target)}: these files are not from one split of one plan`,
        )
      owners.set(target, file.shard.index)
    }
  }
  return owners
}

/** The outcomes of all files, each target once and in the shard that owns it; a finished shard has all its targets. */
function checkEntries(files: readonly Read[], owners: Map<string, number>, plan: Map<string, PlanEntry> | null): EntryOutcome[] {
  const byShard = new Map<number, string[]>()
  for (const [target, shard] of owners) {
    const targets = byShard.get(shard)
    if (targets) targets.push(target)
    else byShard.set(shard, [target])
  }
  const where = new Map<string, string>()
  const all: EntryOutcome[] = []
  for (const {path, file} of files) {
    const {index, count} = file.shard
    const name = `${path} (shard ${index}/${count})`
    const checksOwners = plan !== null || 'owns' in file
    for (const entry of file.entries) {
      const before = where.get(entry.target)
      if (before !== undefined)
        throw new ResultFileError(
          `${name} has a second outcome for ${quote(entry.target)}${before === path ? '' : `, also in ${before}`}: a duplicated or edited result; keep one run of each shard`,
        )
      where.set(entry.target, path)
      const owner = owners.get(entry.target)
      if (checksOwners && owner !== index) {
        const whose = owner !== undefined ? `belongs to shard ${owner}/${count}` : plan ? 'is not in the plan' : 'that shard does not own'
        throw new ResultFileError(`${name} has an outcome for ${quote(entry.target)}, which ${whose}: it is not from an apply of this plan and split`)
      }
      const planned = plan?.get(entry.target)
      if (planned && (planned.source !== entry.source || planned.sourceDigest !== entry.sourceDigest)) {
        throw new ResultFileError(
          `${name} says ${quote(entry.target)} got ${quote(entry.source)} ${abbreviate(entry.sourceDigest, 80)}, but the plan copies ${planned.sourceDigest} there: it is not from an apply of this plan`,
        )
      }
    }
    // Interrupted workers stop early by design: what they did not reach is counted, not refused.
    if (file.interrupted || !checksOwners) {
      all.push(...(file.entries as EntryOutcome[]))
      continue
    }
    const owned = plan ? (byShard.get(index) ?? []) : (file as {owns: string[]}).owns
    const absent = owned.filter((target) => where.get(target) !== path)
    if (absent.length > 0)
      throw new ResultFileError(
        `${name} has no outcome for ${absent.length} of the ${owned.length} targets its shard owns (${list(absent)}), yet says it finished: an incomplete or edited result; run that shard again`,
      )
    // The schema checked targetDigest's form; Digest is that string, branded.
    all.push(...(file.entries as EntryOutcome[]))
  }
  return all
}

function quote(target: string): string {
  return JSON.stringify(abbreviate(target, 300))
}

function list(targets: readonly string[]): string {
  const shown = targets.slice(0, 3).map(quote).join(', ')
  return targets.length > 3 ? `${shown} and ${targets.length - 3} more` : shown
}
