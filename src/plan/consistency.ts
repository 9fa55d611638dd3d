/**
 * Whether a plan file holds together: every fact in it that follows from another fact in it must agree with
 * it. `plan` only ever writes consistent plans, so a disagreement means the file was edited (or corrupted)
 * after it was made, and what a reviewer read (the summary, the `source` column) may not be what apply would
 * do (the `sourceRepository`, the `sourceDigest`, the `target`). Pure: apply refuses the plan on any problem.
 */
import {isDeepStrictEqual} from 'node:util'
import {BadReferenceError, formatReference, parseReference, type Reference} from '../ref/reference.ts'
import {formatTargetPrefix, parseTargetPrefix, renamedTarget, targetReference} from '../ref/target.ts'
import {quoted} from '../ref/text.ts'
import {keyFingerprint, SignatureError} from '../signatures/trust.ts'
import {type Plan, type PlanEntry, summarize} from './model.ts'
import {ruleInconsistencies} from './rule-consistency.ts'

/** Every inconsistency of `plan`, one sentence each, in file order; empty when it holds together. */
export function planInconsistencies(plan: Plan): string[] {
  const problems: string[] = []
  const prefix = normalPrefix(plan.targetRepoPrefix, problems)
  const seen = new Map<string, number>()
  plan.entries.forEach((entry, i) => {
    const where = `entry ${i + 1} (target ${quote(entry.target)})`
    for (const problem of entryProblems(entry, prefix)) problems.push(`${where}: ${problem}`)
    const earlier = seen.get(entry.target)
    if (earlier !== undefined) problems.push(`${where}: entry ${earlier + 1} writes the same target`)
    else seen.set(entry.target, i)
  })
  problems.push(...ruleInconsistencies(plan))
  const counted = summarize(plan.entries)
  if (!isDeepStrictEqual(counted, plan.summary)) {
    problems.push(`the summary says ${describeSummary(plan.summary)}, but the entries hold ${describeSummary(counted)}`)
  }
  return problems
}

/** The prefix as plan writes it (normalised, with its trailing `/`), or null after recording why not. */
function normalPrefix(prefix: string, problems: string[]): string | null {
  try {
    const normal = formatTargetPrefix(parseTargetPrefix(prefix))
    if (normal === prefix) return normal
    problems.push(`targetRepoPrefix ${quote(prefix)} is not written the way plan writes it (${quote(normal)})`)
  } catch (err) {
    if (!(err instanceof BadReferenceError)) throw err
    problems.push(`targetRepoPrefix is not a target prefix: ${err.reason}`)
  }
  return null
}

function entryProblems(entry: PlanEntry, prefix: string | null): string[] {
  const source = parsed(entry.source)
  if (source.kind === 'bad') return [`source ${quote(entry.source)} is not a reference: ${source.reason}`]
  const problems: string[] = []
  const ref = source.ref
  if (ref.tag === undefined && ref.digest === undefined) problems.push(`source ${quote(entry.source)} has neither a tag nor a digest`)
  const repository = `${ref.registry}/${ref.repository}`
  if (entry.sourceRepository !== repository) {
    problems.push(`sourceRepository ${quote(entry.sourceRepository)} is not the repository of source ${quote(entry.source)} (${quote(repository)})`)
  }
  if (prefix !== null) problems.push(...targetProblems(entry, ref, prefix))
  problems.push(...contentProblems(entry, ref), ...actionProblems(entry), ...keyProblems(entry))
  return problems
}

/**
 * The target must be the name the naming rules give the source under the prefix (or the recorded `targetPath`
 * under it: a rename can only ever name a repository under the prefix), with the recorded tag.
 */
function targetProblems(entry: PlanEntry, source: Reference, prefix: string): string[] {
  const target = parsed(entry.target)
  if (target.kind === 'bad') return [`target is not a reference: ${target.reason}`]
  if (target.ref.tag === undefined || target.ref.digest !== undefined) return ['target must name a tag and no digest']
  const root = parseTargetPrefix(prefix)
  if (!`${formatReference({registry: target.ref.registry, repository: target.ref.repository})}/`.startsWith(`${root.registry}/${root.pathPrefix}`)) {
    return [`target is not under targetRepoPrefix ${quote(prefix)}`]
  }
  let expected: string
  try {
    expected = formatReference(
      entry.targetPath !== undefined ? renamedTarget(prefix, entry.targetPath, target.ref.tag) : targetReference(prefix, source, target.ref.tag),
    )
  } catch (err) {
    if (!(err instanceof BadReferenceError)) throw err
    if (entry.targetPath !== undefined) return [`targetPath ${quote(entry.targetPath)} is not a repository path under ${quote(prefix)}: ${err.reason}`]
    return [`source ${quote(entry.source)} has no valid target under ${quote(prefix)}: ${err.reason}`]
  }
  if (expected === entry.target) return []
  if (entry.targetPath !== undefined) return [`target is not targetPath ${quote(entry.targetPath)} under ${quote(prefix)} (${quote(expected)})`]
  return [`target is not where source ${quote(entry.source)} is mirrored under ${quote(prefix)} (${quote(expected)})`]
}

/**
 * A pinned digest decides the content; a platform selection copies one platform's manifest, a platforms
 * selection a new index (its digest is the entry's sourceDigest) computed from the index it names. `bytes` is
 * not checked: nothing in the file implies it, and it only balances shards (an edited one moves no content).
 */
function contentProblems(entry: PlanEntry, source: Reference): string[] {
  const problems: string[] = []
  const selection = entry.selection
  const fromIndex = selection.kind !== 'whole' && selection.indexDigest !== null
  if (source.digest !== undefined) {
    // For a platform selection the pin names the index the content was picked from (or the manifest itself).
    const pinned = fromIndex ? selection.indexDigest : entry.sourceDigest
    const field = fromIndex ? 'selection.indexDigest' : 'sourceDigest'
    if (pinned !== source.digest) problems.push(`${field} ${pinned} is not the digest the source pins (${source.digest})`)
  }
  if (selection.kind !== 'whole') {
    const chosen = selection.kind === 'platform' ? [selection.platform] : selection.platforms
    if (!isDeepStrictEqual(entry.platforms, chosen))
      problems.push(
        `platforms ${quote(entry.platforms.join(', '))} contradict the selection of ${selection.kind === 'platform' ? `${selection.platform} alone` : `the index of ${chosen.join(', ')}`}`,
      )
    if (selection.indexDigest === entry.sourceDigest) problems.push('selection.indexDigest equals sourceDigest: content cannot be picked out of itself')
  }
  if (selection.kind === 'platforms' && selection.digest !== entry.sourceDigest) {
    problems.push(`selection.digest ${selection.digest} is not sourceDigest ${entry.sourceDigest}: the target tag gets the new index`)
  }
  if (new Set(entry.platforms).size !== entry.platforms.length) problems.push('platforms lists a platform twice')
  // An artifact has no platform: plan records it only for a whole copy with none.
  if (entry.artifactType !== undefined && (selection.kind !== 'whole' || entry.platforms.length > 0))
    problems.push(`artifactType ${quote(entry.artifactType)} is recorded, but an artifact has no platforms to list or pick`)
  return problems
}

/** What plan decided follows from what it saw at the target. */
function actionProblems(entry: PlanEntry): string[] {
  const {action, targetDigest, sourceDigest} = entry
  if (action === 'to-copy' && targetDigest !== null) return [`action is to-copy but the target was seen holding ${targetDigest}`]
  if (action === 'already-present' && targetDigest !== sourceDigest)
    return [`action is already-present but the target was seen holding ${targetDigest ?? 'nothing'}, not ${sourceDigest}`]
  if (action === 'conflicting-ID' && (targetDigest === null || targetDigest === sourceDigest))
    return [`action is conflicting-ID but the target was seen holding ${targetDigest ?? 'nothing'}`]
  return []
}

/** The fingerprint is what the table shows a reviewer; the PEM is what apply verifies with (attestations' own keys too). */
function keyProblems(entry: PlanEntry): string[] {
  const {policy} = entry.signature
  const own = policy.attestations.flatMap((a) =>
    a.trust.kind === 'own' ? a.trust.keys.map((key, i) => ({key, what: `attestation ${quote(a.predicateType)} key ${i + 1}`})) : [],
  )
  const all = [...policy.keys.map((key, i) => ({key, what: `signature key ${i + 1}`})), ...own]
  return all.flatMap(({key, what}) => {
    let actual: string
    try {
      actual = keyFingerprint(key.pem)
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err
      return [`${what} is not a usable public key`]
    }
    return actual === key.fingerprint ? [] : [`${what} has fingerprint ${quote(key.fingerprint)}, but its PEM is the key ${actual}`]
  })
}

type Parsed = {kind: 'ok'; ref: Reference} | {kind: 'bad'; reason: string}

function parsed(text: string): Parsed {
  try {
    return {kind: 'ok', ref: parseReference(text)}
  } catch (err) {
    if (!(err instanceof BadReferenceError)) throw err
    return {kind: 'bad', reason: err.reason}
  }
}

function describeSummary(s: Plan['summary']): string {
  return `${s.toCopy} to copy, ${s.alreadyPresent} already present, ${s.conflicting} conflicting, ${s.signatureFailures} signature failures`
}

/** Values from the file, quoted so control characters show as escapes, and cut so a huge one stays readable. */
export const quote = (value: string): string => quoted(value, 200)
