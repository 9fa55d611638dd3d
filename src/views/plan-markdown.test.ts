import {describe, expect, test} from 'bun:test'
import {summarize} from '../plan/model.ts'
import {largePlan} from '../../test/support/large-plan.ts'
import {renderMarkdown} from './plan-markdown.ts'
import {OPEN_TABLE_ENTRIES} from './plan-markdown-limits.ts'

/** Entry rows: a source, a target, then an action. */
const rowsOf = (text: string) => text.split('\n').filter((l) => /^\| `[^`]*` \| `[^`]*` \| (\*\*)?(to-copy|already-present|conflicting-ID)/.test(l))
const PLAN = largePlan({count: 2000, repositories: 50})
/** Targets are shown relative to the prefix the text names once. */
const relative = (target: string) => target.slice(PLAN.targetRepoPrefix.length)

describe('Markdown of a large plan', () => {
  const text = renderMarkdown(PLAN)
  const [summary, ...rest] = text.split('\n\n')

  test('starts with the summary line, then the counts per target prefix', () => {
    const s = PLAN.summary
    expect(summary).toBe(
      `Plan: ${s.toCopy} to copy, ${s.alreadyPresent} already present, ${s.conflicting} conflicting. ${s.signatureFailures} signature failures.`,
    )
    const prefixes = rest
      .find((p) => p.startsWith('| Target prefix |'))!
      .split('\n')
      .slice(2)
    expect(prefixes).toHaveLength(7)
    expect(prefixes.map((r) => Number(r.split(' | ')[1])).reduce((a, b) => a + b)).toBe(2000)
    expect(prefixes[0]).toStartWith('| `registry.example/mirror/team0/` | 286 |')
  })

  test('names every conflict and every failed signature check before the details', () => {
    const before = text.slice(0, text.indexOf('<details>'))
    for (const e of PLAN.entries.filter((e) => e.action === 'conflicting-ID' || e.signature.status === 'failed'))
      expect(before).toContain(`\`${relative(e.target)}\``)
    expect(before).toContain(`**${PLAN.summary.conflicting} conflicting**`)
    expect(before).toContain(`**${PLAN.summary.signatureFailures} failing the signature check**`)
    expect(rowsOf(before)).toHaveLength(0)
  })

  test('every entry is a row inside one collapsed <details>, with its counts in the summary', () => {
    const details = text.slice(text.indexOf('<details>'))
    const s = summarize(PLAN.entries)
    expect(details).toStartWith(
      `<details><summary>2000 entries: ${s.toCopy} to copy, ${s.alreadyPresent} already present, ${s.conflicting} conflicting, ${s.signatureFailures} failing the signature check</summary>\n\n| Source |`,
    )
    expect(details.trimEnd()).toEndWith('</details>')
    expect(rowsOf(details).map((r) => r.split(' | ')[1])).toEqual(PLAN.entries.map((e) => `\`${relative(e.target)}\``))
  })

  test('a long list of conflicts is cut at 50 names, saying how many more', () => {
    const many = largePlan({count: 2000, conflictEvery: 10})
    const before = renderMarkdown(many).split('<details>')[0]!
    expect(before.split('\n').filter((l) => l.includes(' holds `'))).toHaveLength(50)
    expect(before).toContain('- …and 150 more, in the details below and the plan file')
  })

  test('each tag rule is its own collapsed section', () => {
    const entries = PLAN.entries.map((e, i) => (i >= 1000 ? {...e, rule: 0} : e))
    const rules = [{source: 'team0/app0', line: 7, tags: {all: true as const}, listed: 1000, matched: entries.slice(1000).map((e) => e.source.split(':')[1]!)}]
    const sections = renderMarkdown({...PLAN, entries, rules})
      .split('<details>')
      .slice(1)
    expect(sections).toHaveLength(2)
    expect(sections[0]).toStartWith('<summary>1000 entries: ')
    expect(sections[1]).toStartWith('<summary>team0/app0 tags {"all":true} (line 7): 1000 of 1000 listed tags: ')
    expect(rowsOf(sections[1]!)).toHaveLength(1000)
  })

  test(`up to ${OPEN_TABLE_ENTRIES} entries, the table is open and nothing is summed up`, () => {
    const small = largePlan({count: OPEN_TABLE_ENTRIES})
    const md = renderMarkdown(small)
    expect(md).not.toContain('<details>')
    expect(md).not.toContain('| Target prefix |')
    expect(rowsOf(md)).toHaveLength(OPEN_TABLE_ENTRIES)
  })
})

describe('Markdown within a size', () => {
  const limit = {bytes: 200_000, reason: 'a test limit', fullPlan: '`plans/many.plan.json`'}
  const text = renderMarkdown(PLAN, limit)

  test('stays under it, keeps the summary, and closes what it opened', () => {
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(limit.bytes)
    expect(text).toStartWith('Plan: ')
    expect(text.split('<details>').length).toBe(text.split('</details>').length)
  })

  test('says how many entries it left out and where all of them are', () => {
    const shown = rowsOf(text).length
    expect(shown).toBeGreaterThan(100)
    expect(shown).toBeLessThan(2000)
    const note = `**${2000 - shown} of 2000 entries are not shown here** (a test limit): every entry is in \`plans/many.plan.json\`.`
    expect(text.trimEnd().endsWith(`</details>\n\n${note}`)).toBe(true)
  })

  test('a plan that fits is not cut', () => {
    expect(renderMarkdown(PLAN, {...limit, bytes: 10_000_000})).toBe(renderMarkdown(PLAN))
  })
})
