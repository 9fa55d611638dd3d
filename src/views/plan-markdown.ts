/**
 * A plan as Markdown, for a pull-request comment and the job summary. The reviewer of a long plan reads the
 * counts first (per action, per target prefix) and what needs attention (conflicts, failed signature checks)
 * by name; the row of every entry follows, collapsed in `<details>`. A plan of a few entries shows its table
 * open: its rows are read at a glance. Where the text must stay under a size (a step summary), rows are
 * left out at the end, and a note says how many and where all of them are.
 */
import {type Plan, type PlanEntry, summarize} from '../plan/model.ts'
import {shortDigest} from '../ref/digest.ts'
import {printable} from '../ref/text.ts'
import {htmlText, markdownCode} from './markdown.ts'
import {footer, HEADINGS, row} from './plan-cells.ts'
import {relativeTo} from './screen.ts'
import {OPEN_TABLE_ENTRIES} from './plan-markdown-limits.ts'

/** Target prefixes counted one per row; the rest are added up in one row, so the summary stays short. */
const PREFIX_ROWS = 20
/** Conflicts and signature failures named above the details; any more are only in the details and the plan. */
const ATTENTION_ITEMS = 50
/** What the closing tags and the note take at most, kept free under `limit.bytes`. */
const NOTE_BYTES = 2048

export interface MarkdownLimit {
  /** The whole text stays under this many bytes (UTF-8). */
  bytes: number
  /** Why, in a few words, for the note. */
  reason: string
  /** Where every entry can be read, for the note. */
  fullPlan: string
}

export function renderMarkdown(plan: Plan, limit?: MarkdownLimit): string {
  const prefix = plan.targetRepoPrefix
  const head = [footer(plan, '\n\n'), ...(prefix ? [`Into ${markdownCode(prefix)} (targets are shown relative to it).`] : [])]
  const sections = sectionsOf(plan)
  const rowOf = (entry: PlanEntry) => markdownRow(entry, prefix)
  if (plan.entries.length <= OPEN_TABLE_ENTRIES) return `${[...head, ...sections.map((s) => openSection(s, rowOf))].join('\n\n')}\n`
  head.push(prefixTable(plan), ...attention(plan))
  const out = new Budget(limit ? limit.bytes - NOTE_BYTES : Infinity)
  out.add(`${head.join('\n\n')}\n`)
  let shown = 0
  for (const section of sections) {
    if (section.entries.length === 0) {
      out.add(`\n${section.heading}, nothing to plan\n`)
      continue
    }
    if (!out.fits(`\n<details><summary>${htmlText(section.summary)}</summary>\n\n${TABLE_HEAD}\n`)) break
    for (const entry of section.entries) {
      if (!out.fits(`${rowOf(entry)}\n`)) break
      shown++
    }
    out.add('\n</details>\n')
    if (out.full) break
  }
  const left = plan.entries.length - shown
  if (left > 0 && limit) out.add(`\n**${left} of ${plan.entries.length} entries are not shown here** (${limit.reason}): every entry is in ${limit.fullPlan}.\n`)
  return out.text()
}

/** Appends while the text stays under its byte budget; once something did not fit, nothing more is tried. */
class Budget {
  private readonly parts: string[] = []
  private bytes = 0
  full = false

  constructor(private readonly max: number) {}

  fits(text: string): boolean {
    const size = Buffer.byteLength(text)
    if (this.full || this.bytes + size > this.max) {
      this.full = true
      return false
    }
    this.add(text, size)
    return true
  }

  add(text: string, size = Buffer.byteLength(text)): void {
    this.parts.push(text)
    this.bytes += size
  }

  text(): string {
    return this.parts.join('')
  }
}

interface Section {
  /** Markdown above an open table; null for the plain entries, which need none. */
  heading: string | null
  /** Plain text for a collapsed section's `<summary>`. */
  summary: string
  entries: PlanEntry[]
}

/** The entries no rule selected, then each rule's, in the plan's order. A plan without rules is one section. */
function sectionsOf(plan: Plan): Section[] {
  const byRule = groupBy(plan.entries, (e) => e.rule)
  const plain = byRule.get(undefined) ?? []
  const sections: Section[] = plain.length || !plan.rules?.length ? [{heading: null, summary: `${plain.length} entries: ${counts(plain)}`, entries: plain}] : []
  ;(plan.rules ?? []).forEach((rule, i) => {
    const entries = byRule.get(i) ?? []
    const what = `${printable(rule.source)} tags ${printable(JSON.stringify(rule.tags))} (line ${rule.line}): ${rule.matched.length} of ${rule.listed} listed tags`
    const heading = `**${markdownCode(rule.source)}** tags ${markdownCode(JSON.stringify(rule.tags))} (line ${rule.line}): ${rule.matched.length} of ${rule.listed} listed tags`
    sections.push({heading, summary: `${what}: ${counts(entries)}`, entries})
  })
  return sections
}

function openSection(section: Section, rowOf: (entry: PlanEntry) => string): string {
  if (section.entries.length === 0 && section.heading !== null) return `${section.heading}, nothing to plan`
  const table = [TABLE_HEAD, ...section.entries.map(rowOf)].join('\n')
  return section.heading === null ? table : `${section.heading}\n\n${table}`
}

const TABLE_HEAD = [`| ${HEADINGS.join(' | ')} |`, `|${HEADINGS.map(() => ' --- ').join('|')}|`].join('\n')

/** A row; the target relative to the prefix the text names once above the tables. */
function markdownRow(entry: PlanEntry, prefix: string): string {
  const [source, fullTarget, action, digest, platforms, signature] = row(entry)
  const target = relativeTo(printable(prefix), fullTarget!)
  const marked = action === 'conflicting-ID' ? `**${action}**` : action!
  const cell = (text: string) => markdownCode(text, 'table')
  const signed = entry.signature.status === 'failed' ? `**${cell(signature!)}**` : cell(signature!)
  return `| ${cell(source!)} | ${cell(target!)} | ${marked} | ${cell(digest!)} | ${cell(platforms!)} | ${signed} |`
}

function counts(entries: readonly PlanEntry[]): string {
  const s = summarize(entries)
  return `${s.toCopy} to copy, ${s.alreadyPresent} already present, ${s.conflicting} conflicting${s.signatureFailures ? `, ${s.signatureFailures} failing the signature check` : ''}`
}

/**
 * Entries counted per target prefix: the plan's prefix and the first path component under it (the source's
 * registry or Docker Hub namespace), largest first.
 */
function prefixTable(plan: Plan): string {
  const groups = groupBy(plan.entries, (e) => prefixOf(e.target, plan.targetRepoPrefix))
  const sorted = [...groups].sort(([a, x], [b, y]) => y.length - x.length || a.localeCompare(b))
  const shown = sorted.slice(0, PREFIX_ROWS).map(([prefix, entries]) => [markdownCode(prefix, 'table'), entries] as const)
  const rest = sorted.slice(PREFIX_ROWS).flatMap(([, entries]) => entries)
  if (rest.length) shown.push([`${sorted.length - PREFIX_ROWS} more prefixes`, rest])
  const rows = shown.map(([name, entries]) => {
    const s = summarize(entries)
    return `| ${name} | ${entries.length} | ${s.toCopy} | ${s.alreadyPresent} | ${s.conflicting} | ${s.signatureFailures} |`
  })
  return [
    '| Target prefix | Entries | To copy | Already present | Conflicting | Signature failures |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n')
}

/** `<prefix><first component>/` of a target reference, or its registry when it lies outside the prefix. */
function prefixOf(target: string, prefix: string): string {
  const tag = target.search(/[:@][^/]*$/)
  const repository = tag === -1 ? target : target.slice(0, tag)
  if (!repository.startsWith(prefix)) return `${repository.split('/')[0]}/`
  const rest = repository.slice(prefix.length).split('/')
  return rest.length > 1 ? `${prefix}${rest[0]}/` : repository
}

function groupBy<K>(entries: readonly PlanEntry[], key: (entry: PlanEntry) => K): Map<K, PlanEntry[]> {
  const groups = new Map<K, PlanEntry[]>()
  for (const entry of entries) {
    const group = groups.get(key(entry))
    if (group) group.push(entry)
    else groups.set(key(entry), [entry])
  }
  return groups
}

/** Conflicts and failed signature checks by name: each needs someone to act before apply can go through. */
function attention(plan: Plan): string[] {
  const lists: string[] = []
  const conflicts = plan.entries.filter((e) => e.action === 'conflicting-ID')
  if (conflicts.length) {
    const items = conflicts.map(
      (e) =>
        `- ${markdownCode(relativeTo(plan.targetRepoPrefix, e.target))} holds ${markdownCode(shortDigest(e.targetDigest ?? e.sourceDigest))}, the source ${markdownCode(e.source)} is ${markdownCode(shortDigest(e.sourceDigest))}`,
    )
    lists.push(
      list(`**${conflicts.length} conflicting** (a target tag holding other content is never overwritten, and apply refuses a plan with conflicts):`, items),
    )
  }
  const failed = plan.entries.filter((e) => e.signature.status === 'failed')
  if (failed.length) {
    const items = failed.map(
      (e) => `- ${markdownCode(relativeTo(plan.targetRepoPrefix, e.target))}: ${markdownCode(e.signature.reasons.join('; ') || 'signature check failed')}`,
    )
    lists.push(list(`**${failed.length} failing the signature check** (not copied):`, items))
  }
  return lists
}

function list(heading: string, items: string[]): string {
  const more = items.length > ATTENTION_ITEMS ? [`- …and ${items.length - ATTENTION_ITEMS} more, in the details below and the plan file`] : []
  return [heading, '', ...items.slice(0, ATTENTION_ITEMS), ...more].join('\n')
}
