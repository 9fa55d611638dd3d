/**
 * Tag rules (`tags:` on an entry): which of a repository's listed tags to mirror. Compiled once at load, so a
 * bad range or pattern is a definition problem; selection is pure, so plan (on the listing) and the plan's
 * consistency check (on what the plan says matched) judge tags by the same code.
 */
import {tagProblem} from '../ref/reference.ts'
import type {TagRuleBlock} from './schema.ts'
import {compareVersions, parseRange, parseVersionTag, type Range, satisfies, type Version} from './semver.ts'

/** A runaway rule (`all: true` on a repository of nightly builds) stops here unless `maxTags` says otherwise. */
export const DEFAULT_MAX_TAGS = 100

export interface TagRule {
  /** The block as written, recorded in the plan. */
  readonly spec: TagRuleBlock
  readonly range: Range | null
  readonly pattern: RegExp | null
  readonly exclude: readonly RegExp[]
  readonly latest: number | null
  readonly maxTags: number
}

export type CompiledRule = {kind: 'rule'; rule: TagRule} | {kind: 'invalid'; problems: Array<{key: keyof TagRuleBlock | null; message: string}>}

export function compileTagRule(spec: TagRuleBlock): CompiledRule {
  const problems: Array<{key: keyof TagRuleBlock | null; message: string}> = []
  if (spec.semver === undefined && spec.regex === undefined && spec.latest === undefined && spec.all === undefined) {
    problems.push({key: null, message: 'tags needs at least one selector: semver, regex, latest or all'})
  }
  if (spec.all === false) problems.push({key: 'all', message: 'tags.all: false selects nothing: leave it out'})
  else if (spec.all !== undefined && (spec.semver !== undefined || spec.regex !== undefined)) {
    problems.push({key: 'all', message: 'tags.all selects every tag: drop it, or drop semver and regex'})
  }
  let range: Range | null = null
  if (spec.semver !== undefined) {
    const parsed = parseRange(spec.semver)
    if (parsed.kind === 'invalid') problems.push({key: 'semver', message: `tags.semver is not a version range: ${parsed.reason}`})
    else range = parsed.range
  }
  let pattern: RegExp | null = null
  if (spec.regex !== undefined) {
    try {
      // Anchored by us: `v1\.8` must not select `v1.80-rc` or `nightly-v1.8`.
      pattern = new RegExp(`^(?:${spec.regex})$`)
    } catch (err) {
      problems.push({key: 'regex', message: `tags.regex is not a valid regular expression: ${(err as Error).message}`})
    }
  }
  if (problems.length) return {kind: 'invalid', problems}
  return {
    kind: 'rule',
    rule: {spec, range, pattern, exclude: (spec.exclude ?? []).map(globPattern), latest: spec.latest ?? null, maxTags: spec.maxTags ?? DEFAULT_MAX_TAGS},
  }
}

/**
 * cosign's tags next to an image (`sha256-<hex>.sig`, `.att`, `.sbom`, and the referrers fallback `sha256-<hex>`)
 * are not images to mirror: the signature machinery carries them with the image they belong to.
 */
const ARTIFACT_TAG = /^sha256-[a-f0-9]{64}(?:\.[a-z]+)?$/

/**
 * The tags `rule` selects out of `listed` (in the registry's order), highest version first when every selected
 * tag is a version, else in the registry's order. Strings that are not valid tags are never selected: a listing
 * is registry text, and a selected tag becomes a target tag. Neither are cosign's artifact tags.
 */
export function selectTags(rule: TagRule, listed: readonly string[]): string[] {
  const candidates: Array<{tag: string; version: Version | null}> = []
  const seen = new Set<string>()
  for (const tag of listed) {
    if (seen.has(tag) || tagProblem(tag) !== null || ARTIFACT_TAG.test(tag)) continue
    seen.add(tag)
    const version = parseVersionTag(tag)
    if (rule.range && !(version && satisfies(version, rule.range))) continue
    if (rule.pattern && !rule.pattern.test(tag)) continue
    if (rule.exclude.some((glob) => glob.test(tag))) continue
    candidates.push({tag, version})
  }
  const versioned = candidates.every((c) => c.version !== null)
  if (versioned) candidates.sort((a, b) => compareVersions(b.version!, a.version!))
  const kept = rule.latest === null ? candidates : versioned ? candidates.slice(0, rule.latest) : candidates.slice(-rule.latest)
  return kept.map((c) => c.tag)
}

/** `*` any run of characters, `?` one; everything else literal; the whole tag must match. */
function globPattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${body}$`)
}
