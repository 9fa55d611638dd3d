/**
 * The meaning of a schema-valid definition: each entry's source reference, what pins its content (a tag or a
 * digest), and its target tag under the prefix. Problems are collected for the whole file.
 */
import type {Digest} from '../ref/digest.ts'
import {BadReferenceError, formatReference, parseReference, type Reference, tagProblem} from '../ref/reference.ts'
import {formatTargetPrefix, parseTargetPrefix, renamedTarget, targetReference} from '../ref/target.ts'
import type {SignaturePolicy} from '../signatures/types.ts'
import type {Problem} from './errors.ts'
import type {DefinitionFile} from './schema.ts'
import {type PolicyDraft, resolvePolicy} from './signatures.ts'
import {compileTagRule, type TagRule} from './tag-rules.ts'
import {entrySelection, platformProblems, type Selection} from './platforms.ts'

export type {Selection} from './platforms.ts'

/** What decides an entry's content: the tag as it is now, or a digest the reviewer pinned. */
export type Pin = {kind: 'tag'; tag: string} | {kind: 'digest'; digest: Digest}

export interface DefinitionEntry {
  /** The source as written in the file, for reports. */
  source: string
  sourceRef: Reference
  pin: Pin
  target: Reference
  /** `target:` as written: the repository path under the prefix that replaces the mirrored name. */
  targetPath?: string
  /** `platforms:` (or `amd64Only: true`, linux/amd64): one platform's manifest alone, or a subset index. */
  selection: Selection
  signatures: SignaturePolicy
  line: number
  /** For an entry a tag rule expanded to: the rule's index in `Definition.rules`. */
  rule?: number
}

/** An entry before its public key files are read. */
export interface EntryDraft extends Omit<DefinitionEntry, 'signatures'> {
  signatures: PolicyDraft
}

/**
 * A `tags:` entry: a repository and a rule, expanded at plan time into one entry per selected tag (see
 * plan/expand.ts). Each expanded entry takes the rule's target repository, selection and policy.
 */
export interface TagRuleEntry {
  /** The source as written: a repository, without tag or digest. */
  source: string
  sourceRef: Reference
  rule: TagRule
  /** The target repository (no tag): the mirrored name, or `target:` under the prefix. */
  targetRepository: Reference
  targetPath?: string
  selection: Selection
  signatures: SignaturePolicy
  line: number
  column: number
}

export interface RuleDraft extends Omit<TagRuleEntry, 'signatures'> {
  signatures: PolicyDraft
}

type Locate = (path: (string | number)[]) => Problem

export type Resolution = {kind: 'resolved'; targetRepoPrefix: string; entries: EntryDraft[]; rules: RuleDraft[]} | {kind: 'invalid'; problems: Problem[]}

/** `images` entries that failed the schema are passed as null: skipped here, already reported. */
export function resolveEntries(
  file: {images: ReadonlyArray<DefinitionFile['images'][number] | null>; signatures?: DefinitionFile['signatures']; platforms?: string[]},
  prefix: string | undefined,
  baseDir: string,
  locate: Locate,
): Resolution {
  const problems: Problem[] = []
  const problem = (path: (string | number)[], message: string) => problems.push({...locate(path), message})

  let targetPrefix: string | null = null
  if (prefix === undefined) {
    problem([], 'targetRepoPrefix is not set: add it to the file, or pass --target-repo-prefix / SYNCER_TARGET_REPO_PREFIX')
  } else {
    try {
      // Normalised (lower-case host, trailing '/'), so plans made with and without the slash compare equal.
      targetPrefix = formatTargetPrefix(parseTargetPrefix(prefix))
    } catch (err) {
      if (!(err instanceof BadReferenceError)) throw err
      problem(['targetRepoPrefix'], `targetRepoPrefix ${err.message}`)
    }
  }

  const globalPlatforms = file.platforms !== undefined && platformProblems(file.platforms, ['platforms'], problem) ? file.platforms : undefined
  const entries: EntryDraft[] = []
  const rules: RuleDraft[] = []
  const byTarget = new Map<string, number>()
  file.images.forEach((image, i) => {
    if (image === null) return
    const here = (key: string) => ['images', i, key]
    const line = locate(['images', i]).line
    let sourceRef: Reference
    try {
      sourceRef = parseReference(image.source)
    } catch (err) {
      if (!(err instanceof BadReferenceError)) throw err
      return problem(here('source'), `source: ${err.message}`)
    }
    const selection = entrySelection(image, globalPlatforms, here, problem)
    if (selection === null) return
    const common = () => ({
      selection,
      signatures: resolvePolicy(file.signatures, image.signatures, ['images', i], baseDir, locate, problems),
      ...(image.target !== undefined ? {targetPath: image.target} : {}),
    })
    // Where the entry's tags go: the rename, or the naming rule of ref/target.ts.
    const targetFor = (tag: string): Reference =>
      image.target !== undefined ? renamedTarget(targetPrefix!, image.target, tag) : targetReference(targetPrefix!, sourceRef, tag)
    const targetProblem = (err: unknown, key: string) => {
      if (!(err instanceof BadReferenceError)) throw err
      problem(here(image.target !== undefined ? 'target' : key), err.message)
    }

    if (image.tags !== undefined) {
      if (targetPrefix === null) return void ruleProblems(image, sourceRef, here, problem)
      const rule = resolveRule(image, sourceRef, here, problem, locate, () => targetFor('latest'), targetProblem)
      if (rule) rules.push({...rule, ...common(), line})
      return
    }

    if (sourceRef.digest === undefined && sourceRef.tag === undefined) {
      // No implied `latest`: a mirror of a moving tag must be asked for by name.
      return problem(
        here('source'),
        `source ${image.source} has neither a tag nor a digest: write the tag to mirror (e.g. ${image.source}:1.0), or a tags: rule`,
      )
    }
    const tag = image.tag ?? sourceRef.tag
    if (tag === undefined) {
      return problem(here('source'), `sha256 digest detected, but the tag was not specified: add \`tag:\` to name the target tag of ${image.source}`)
    }
    if (targetPrefix === null) return
    let target: Reference
    try {
      target = targetFor(tag)
    } catch (err) {
      if (err instanceof BadReferenceError && image.target !== undefined && tagProblem(tag) !== null)
        return problem(here(image.tag !== undefined ? 'tag' : 'source'), err.message)
      return targetProblem(err, image.tag !== undefined ? 'tag' : 'source')
    }
    const targetText = formatReference(target)
    const earlier = byTarget.get(targetText)
    if (earlier !== undefined) {
      return problem(
        here(image.target !== undefined ? 'target' : 'source'),
        `${targetText} is also the target of the entry on line ${earlier}: two entries must not write the same target tag`,
      )
    }
    byTarget.set(targetText, line)
    entries.push({
      source: image.source,
      sourceRef,
      // The source tag is read at the source; `tag:` only names the target.
      pin: sourceRef.digest ? {kind: 'digest', digest: sourceRef.digest} : {kind: 'tag', tag: sourceRef.tag!},
      target,
      ...common(),
      line,
    })
  })
  if (problems.length || targetPrefix === null) return {kind: 'invalid', problems}
  return {kind: 'resolved', targetRepoPrefix: targetPrefix, entries, rules}
}

type Image = DefinitionFile['images'][number]
type Here = (key: string) => (string | number)[]
type Report = (path: (string | number)[], message: string) => void

/** What is wrong with a `tags:` entry in itself, all at once; the compiled rule when nothing is. */
function ruleProblems(image: Image, sourceRef: Reference, here: Here, problem: Report): TagRule | null {
  const compiled = compileTagRule(image.tags!)
  if (compiled.kind === 'invalid') for (const p of compiled.problems) problem(p.key === null ? here('tags') : [...here('tags'), p.key], p.message)
  const pinned = sourceRef.tag !== undefined || sourceRef.digest !== undefined
  if (pinned)
    problem(here('source'), `source ${image.source} names a ${sourceRef.digest ? 'digest' : 'tag'}, but tags: selects the tags: write the repository alone`)
  if (image.tag !== undefined) problem(here('tag'), "tag: cannot be combined with tags: (a rule keeps each selected tag's name at the target)")
  return compiled.kind === 'invalid' || pinned || image.tag !== undefined ? null : compiled.rule
}

/**
 * A `tags:` entry as a rule with its target repository: any valid tag checks the repository name now (a rename
 * or the mirrored name); each selected tag is checked when the rule expands at plan time.
 */
function resolveRule(
  image: Image,
  sourceRef: Reference,
  here: Here,
  problem: Report,
  locate: Locate,
  sampleTarget: () => Reference,
  targetProblem: (err: unknown, key: string) => void,
): Omit<RuleDraft, 'selection' | 'signatures' | 'targetPath' | 'line'> | null {
  const rule = ruleProblems(image, sourceRef, here, problem)
  if (rule === null) return null
  try {
    const {registry, repository} = sampleTarget()
    return {source: image.source, sourceRef, rule, targetRepository: {registry, repository}, column: locate(here('source')).column}
  } catch (err) {
    targetProblem(err, 'source')
    return null
  }
}
