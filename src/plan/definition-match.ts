/**
 * Whether a plan follows from a definition file: `apply --definition FILE` asks this of the plan it is given,
 * so that a plan edited after review (an added entry, another source, a weaker signature policy) is refused
 * even when its recorded definition sha256 was left alone. What the registries said (digests of tag sources,
 * what the target held) cannot follow from the file; everything the file decides must.
 */
import {readFile} from 'node:fs/promises'
import {resolve} from 'node:path'
import {isDeepStrictEqual} from 'node:util'
import {loadDefinition, type Definition} from '../definition/load.ts'
import {DefinitionError} from '../definition/errors.ts'
import type {DefinitionEntry} from '../definition/resolve.ts'
import {sha256Digest} from '../ref/digest.ts'
import {formatReference} from '../ref/reference.ts'
import {quote} from './consistency.ts'
import {ruleEntries} from './expand.ts'
import type {Plan, PlanEntry} from './model.ts'
import {recordPolicy} from './policy-record.ts'
import type {PolicyRecord} from './signature-record.ts'

export type DefinitionMatch =
  | {kind: 'matches'}
  /** The file is not the one the plan was made from. */
  | {kind: 'changed'; planned: string; actual: string}
  /** The file is, but the plan's entries are not what it makes: one sentence per difference. */
  | {kind: 'differs'; problems: string[]}

/**
 * Compares `plan` with the definition at `path`. `targetRepoPrefix` overrides the file's, as it did for
 * `plan`. A file that cannot be read or is invalid throws DefinitionError, as for `plan`.
 */
export async function matchDefinition(plan: Plan, path: string, targetRepoPrefix?: string): Promise<DefinitionMatch> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as {code?: string}).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : 'cannot be read'
    throw new DefinitionError([{file: path, line: 1, column: 1, message: `cannot read the definition file: ${why}`}])
  }
  // Compared before parsing, so an edited file says "changed" rather than whatever is wrong inside it.
  const actual = sha256Digest(bytes)
  if (actual !== plan.definition.sha256) return {kind: 'changed', planned: plan.definition.sha256, actual}
  const definition = await loadDefinition(path, targetRepoPrefix !== undefined ? {targetRepoPrefix} : {})
  // Read again by the loader: a file swapped in between is caught here.
  if (definition.sha256 !== plan.definition.sha256) return {kind: 'changed', planned: plan.definition.sha256, actual: definition.sha256}
  const problems = await entryDifferences(plan, definition)
  return problems.length ? {kind: 'differs', problems} : {kind: 'matches'}
}

/** Pairs entries by target (unique on both sides) and compares each pair; unpaired entries on either side are problems. */
async function entryDifferences(plan: Plan, definition: Definition): Promise<string[]> {
  const problems: string[] = []
  if (plan.targetRepoPrefix !== definition.targetRepoPrefix) {
    problems.push(`targetRepoPrefix is ${quote(plan.targetRepoPrefix)}, the definition gives ${quote(definition.targetRepoPrefix)}`)
  }
  // A rule's entries follow from the rule and the tags the plan says it matched (their selection is checked by
  // the plan's consistency); the rule itself must be the definition's.
  const planned = plan.rules ?? []
  if (planned.length !== definition.rules.length) problems.push(`the plan has ${planned.length} tag rule(s), the definition ${definition.rules.length}`)
  const expanded = definition.rules.flatMap((rule, i) => {
    const record = planned[i]
    if (!record) return []
    if (record.source !== rule.source || record.line !== rule.line || !isDeepStrictEqual(record.tags, rule.rule.spec)) {
      problems.push(
        `rule ${i + 1} is ${quote(record.source)} ${quote(JSON.stringify(record.tags))} (line ${record.line}), the definition says ${quote(rule.source)} ${quote(JSON.stringify(rule.rule.spec))} (line ${rule.line})`,
      )
      return []
    }
    return ruleEntries(rule, i, record.matched)
  })
  const byTarget = new Map([...definition.entries, ...expanded].map((entry) => [formatReference(entry.target), entry]))
  const paired = new Set<string>()
  for (const [i, entry] of plan.entries.entries()) {
    const where = `entry ${i + 1} (target ${quote(entry.target)})`
    const expected = byTarget.get(entry.target)
    if (!expected || paired.has(entry.target)) {
      problems.push(`${where} is not made by any entry of the definition`)
      continue
    }
    paired.add(entry.target)
    for (const difference of await differences(entry, expected)) problems.push(`${where}: ${difference}`)
  }
  for (const [target, entry] of byTarget) {
    if (!paired.has(target))
      problems.push(`the definition's entry on line ${entry.line} (source ${quote(entry.source)}, target ${quote(target)}) is missing from the plan`)
  }
  return problems
}

async function differences(entry: PlanEntry, expected: DefinitionEntry): Promise<string[]> {
  const problems: string[] = []
  if (entry.source !== expected.source) problems.push(`source is ${quote(entry.source)}, the definition says ${quote(expected.source)} (line ${expected.line})`)
  if (entry.targetPath !== expected.targetPath)
    problems.push(`targetPath is ${quote(entry.targetPath ?? '(none)')}, the definition says ${quote(expected.targetPath ?? '(none)')} (line ${expected.line})`)
  if (entry.rule !== expected.rule)
    problems.push(`it is ${entry.rule === undefined ? 'not ' : ''}an entry of a tag rule, the definition's line ${expected.line} says otherwise`)
  const repository = `${expected.sourceRef.registry}/${expected.sourceRef.repository}`
  if (entry.sourceRepository !== repository)
    problems.push(`sourceRepository is ${quote(entry.sourceRepository)}, the definition's source is in ${quote(repository)}`)
  const copies = describeSelection(entry.selection)
  const asked = describeSelection(expected.selection)
  // The file's platforms do not apply to an artifact, which the plan then copies whole (build.ts).
  const fileDefaultOnArtifact =
    entry.artifactType !== undefined && entry.selection.kind === 'whole' && expected.selection.kind !== 'whole' && expected.selection.from === 'file'
  if (copies !== asked && !fileDefaultOnArtifact) problems.push(`the plan copies ${copies}, the definition asks for ${asked} (line ${expected.line})`)
  if (expected.pin.kind === 'digest') {
    const pinned = entry.selection.kind !== 'whole' && entry.selection.indexDigest !== null ? entry.selection.indexDigest : entry.sourceDigest
    if (pinned !== expected.pin.digest) problems.push(`the plan copies from ${pinned}, the definition pins ${expected.pin.digest}`)
  }
  const differing = policyDifferences(entry.signature.policy, await recordPolicy(expected.signatures))
  if (differing.length) problems.push(`its signature policy differs from the definition's in ${differing.join(', ')}`)
  return problems
}

/** A selection as a reviewer reads it: the plan's and the definition's compare equal when they mean the same. */
function describeSelection(selection: PlanEntry['selection'] | DefinitionEntry['selection']): string {
  if (selection.kind === 'whole') return 'the whole image'
  if (selection.kind === 'platform') return `${selection.platform} alone`
  return `an index of ${selection.platforms.join(', ')}`
}

/**
 * The policy keys whose values differ. File paths are compared as absolute paths: apply reads them relative to
 * the working directory just as plan recorded them, so two spellings of one file are the same policy.
 */
function policyDifferences(planned: PolicyRecord, expected: PolicyRecord): string[] {
  const a = withAbsolutePaths(planned)
  const b = withAbsolutePaths(expected)
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
  return keys.filter((key) => !isDeepStrictEqual(a[key as keyof PolicyRecord], b[key as keyof PolicyRecord]))
}

function withAbsolutePaths(record: PolicyRecord): PolicyRecord {
  return {
    ...record,
    trustedRoot: record.trustedRoot.kind === 'file' ? {...record.trustedRoot, path: resolve(record.trustedRoot.path)} : record.trustedRoot,
    sign: record.sign?.kind === 'key' ? {...record.sign, keyPath: resolve(record.sign.keyPath)} : record.sign,
  }
}
