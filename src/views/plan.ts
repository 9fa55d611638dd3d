/** Rendering a plan for people: a terminal table, or Markdown for a pull-request comment. */
import Table from 'cli-table3'
import type {Plan, PlanEntry} from '../plan/model.ts'
import {shortDigest} from '../ref/digest.ts'

export type PlanFormat = 'table' | 'json' | 'markdown'

export function renderPlan(plan: Plan, format: PlanFormat): string {
  if (format === 'json') return `${JSON.stringify(plan, null, 2)}\n`
  if (format === 'markdown') return renderMarkdown(plan)
  return renderTable(plan)
}

/** One line per entry: separators between rows double the height of a long plan for nothing. */
const COMPACT = {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}

const HEADINGS = ['Source', 'Target', 'Action', 'Digest', 'Platforms'] as const

function row(entry: PlanEntry): string[] {
  return [entry.source, entry.target, entry.action, shortDigest(entry.sourceDigest), entry.platforms.join(', ') || '-']
}

export function summaryLine(plan: Plan): string {
  const s = plan.summary
  return `Plan: ${s.toCopy} to copy, ${s.alreadyPresent} already present, ${s.conflicting} conflicting.`
}

function renderTable(plan: Plan): string {
  if (plan.entries.length === 0) return `No images in the definition.\n${summaryLine(plan)}\n`
  // No colours: this output lands in CI logs and pull requests as often as on terminals.
  const table = new Table({head: [...HEADINGS], style: {head: [], border: []}, chars: COMPACT})
  for (const entry of plan.entries) table.push(row(entry))
  return `${table.toString()}\n${summaryLine(plan)}\n`
}

function renderMarkdown(plan: Plan): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|')
  const lines = [`| ${HEADINGS.join(' | ')} |`, `|${HEADINGS.map(() => ' --- ').join('|')}|`]
  for (const entry of plan.entries) {
    const [source, target, action, digest, platforms] = row(entry)
    const marked = action === 'conflicting-ID' ? `**${action}**` : action!
    lines.push(`| \`${escape(source!)}\` | \`${escape(target!)}\` | ${marked} | \`${digest}\` | ${escape(platforms!)} |`)
  }
  return `${lines.join('\n')}\n\n${summaryLine(plan)}\n`
}
