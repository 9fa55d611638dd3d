/**
 * Tag rules resolved: each `tags:` entry of the definition becomes one entry per tag it selects from the
 * listing, pinned like any tag entry, and a record of what it matched for the plan. Pure: plan feeds it the
 * listings it read, `apply --definition` the tags the plan says matched, so both derive the same entries.
 */
import type {Definition} from '../definition/load.ts'
import {DefinitionError, type Problem} from '../definition/errors.ts'
import type {DefinitionEntry, TagRuleEntry} from '../definition/resolve.ts'
import {selectTags} from '../definition/tag-rules.ts'
import {formatReference, tagProblem} from '../ref/reference.ts'
import type {RuleRecord} from './model.ts'

export interface Expansion {
  /** The definition's entries and the rules' expansions, in file order. */
  entries: DefinitionEntry[]
  rules: RuleRecord[]
  /** One sentence per rule that matched nothing: worth saying, not worth failing. */
  warnings: string[]
}

/**
 * Expands every rule over `listed[i]` (the tags of rule i's source repository, in the registry's order).
 * Throws DefinitionError, all problems at once, for a rule selecting more than its maxTags and for two entries
 * writing one target tag.
 */
export function expandRules(definition: Pick<Definition, 'path' | 'entries' | 'rules'>, listed: readonly (readonly string[])[]): Expansion {
  const problems: Problem[] = []
  const at = (rule: TagRuleEntry, message: string) => problems.push({file: definition.path, line: rule.line, column: rule.column, message})
  const records: RuleRecord[] = []
  const expanded: DefinitionEntry[] = []
  const warnings: string[] = []
  definition.rules.forEach((rule, index) => {
    const tags = listed[index] ?? []
    const matched = selectTags(rule.rule, tags)
    const repository = formatReference({registry: rule.sourceRef.registry, repository: rule.sourceRef.repository})
    if (matched.length > rule.rule.maxTags) {
      return at(
        rule,
        `tags selects ${matched.length} tags of ${repository}, more than maxTags (${rule.rule.maxTags}): narrow the rule, or raise maxTags if you mean it`,
      )
    }
    if (matched.length === 0)
      warnings.push(`${definition.path}:${rule.line}: tags of ${rule.source} matched none of the ${tags.length} tags listed: nothing is planned for it`)
    records.push({source: rule.source, line: rule.line, tags: rule.rule.spec, listed: tags.length, matched})
    expanded.push(...ruleEntries(rule, index, matched))
  })
  const entries = [...definition.entries, ...expanded].sort((a, b) => a.line - b.line)
  problems.push(...collisions(definition, entries))
  if (problems.length) throw new DefinitionError([...problems].sort((a, b) => a.line - b.line || a.column - b.column))
  return {entries, rules: records, warnings}
}

/** One entry per tag, read by tag at the source like `source: repo:tag`, written under the rule's target repository. */
export function ruleEntries(rule: TagRuleEntry, index: number, tags: readonly string[]): DefinitionEntry[] {
  // selectTags never selects an invalid tag; a plan's `matched` is checked the same way before it gets here.
  return tags
    .filter((tag) => tagProblem(tag) === null)
    .map((tag) => ({
      source: `${rule.source}:${tag}`,
      sourceRef: {...rule.sourceRef, tag},
      pin: {kind: 'tag', tag},
      target: {...rule.targetRepository, tag},
      ...(rule.targetPath !== undefined ? {targetPath: rule.targetPath} : {}),
      selection: rule.selection,
      signatures: rule.signatures,
      line: rule.line,
      rule: index,
    }))
}

/**
 * Two entries writing one target tag, where a rule is involved (the loader already refused two plain entries).
 * Reported at the rule, naming the other line.
 */
function collisions(definition: Pick<Definition, 'path' | 'rules'>, entries: readonly DefinitionEntry[]): Problem[] {
  const problems: Problem[] = []
  const byTarget = new Map<string, DefinitionEntry>()
  for (const entry of entries) {
    const target = formatReference(entry.target)
    const earlier = byTarget.get(target)
    if (!earlier) {
      byTarget.set(target, entry)
      continue
    }
    const rule = definition.rules[entry.rule ?? earlier.rule!]!
    // Tags of one rule are distinct, so the other entry is on another line.
    const other = entry.rule !== undefined ? earlier.line : entry.line
    problems.push({
      file: definition.path,
      line: rule.line,
      column: rule.column,
      message: `${target} is selected by the tags rule on line ${rule.line} and also written by the entry on line ${other}: two entries must not write the same target tag`,
    })
  }
  return problems
}
