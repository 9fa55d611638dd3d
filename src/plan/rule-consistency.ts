/**
 * The tag-rule part of a plan's consistency (see consistency.ts): each rule record is a valid rule, the tags it
 * says matched are tags the rule selects (so an edited plan cannot slip in a tag the rule would not take), and
 * every matched tag is exactly one entry, read from the rule's repository by that tag.
 */
import {compileTagRule, selectTags} from '../definition/tag-rules.ts'
import {BadReferenceError, parseReference, tagProblem} from '../ref/reference.ts'
import type {Plan} from './model.ts'

export function ruleInconsistencies(plan: Plan): string[] {
  const rules = plan.rules ?? []
  const problems: string[] = []
  // Sources per rule, gathered once: filtering all entries per rule is quadratic in a plan of one big rule.
  const sourcesOf = new Map<number, string[]>()
  for (const entry of plan.entries) {
    if (entry.rule === undefined) continue
    const sources = sourcesOf.get(entry.rule)
    if (sources) sources.push(entry.source)
    else sourcesOf.set(entry.rule, [entry.source])
  }
  rules.forEach((rule, i) => {
    const where = `rule ${i + 1} (source ${JSON.stringify(rule.source)})`
    const compiled = compileTagRule(rule.tags)
    if (compiled.kind === 'invalid') return problems.push(...compiled.problems.map((p) => `${where}: ${p.message}`))
    if (!isRepository(rule.source)) problems.push(`${where}: source must be a repository without tag or digest`)
    if (new Set(rule.matched).size !== rule.matched.length) problems.push(`${where}: matched lists a tag twice`)
    const invalid = rule.matched.filter((tag) => tagProblem(tag) !== null)
    if (invalid.length) problems.push(`${where}: matched holds ${invalid.length} string(s) that are not tags`)
    // Selecting again from what matched must keep all of it: each tag passes the filters, and `latest` cannot drop any.
    const kept = new Set(selectTags(compiled.rule, rule.matched))
    const foreign = rule.matched.filter((tag) => !kept.has(tag))
    if (foreign.length)
      problems.push(
        `${where}: matched holds tags the rule does not select: ${foreign
          .slice(0, 5)
          .map((t) => JSON.stringify(t))
          .join(', ')}`,
      )
    if (rule.matched.length > compiled.rule.maxTags)
      problems.push(`${where}: matched holds ${rule.matched.length} tags, more than maxTags (${compiled.rule.maxTags})`)
    if (rule.matched.length > rule.listed) problems.push(`${where}: matched holds more tags than the ${rule.listed} listed`)
    const sources = new Set(sourcesOf.get(i))
    const expected = rule.matched.map((tag) => `${rule.source}:${tag}`)
    const count = sourcesOf.get(i)?.length ?? 0
    if (count !== expected.length || expected.some((s) => !sources.has(s))) {
      problems.push(`${where}: its entries are not exactly one per matched tag (${expected.length} matched, ${count} entries)`)
    }
  })
  plan.entries.forEach((entry, i) => {
    if (entry.rule !== undefined && entry.rule >= rules.length)
      problems.push(`entry ${i + 1} refers to rule ${entry.rule + 1}, but the plan has ${rules.length} rule(s)`)
  })
  return problems
}

function isRepository(text: string): boolean {
  try {
    const ref = parseReference(text)
    return ref.tag === undefined && ref.digest === undefined
  } catch (err) {
    if (!(err instanceof BadReferenceError)) throw err
    return false
  }
}
