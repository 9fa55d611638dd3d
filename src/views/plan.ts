/**
 * Rendering a plan for people: a terminal table, or Markdown for a pull-request comment. Platforms, signers and
 * reasons come from registries (and the whole plan from a file anyone may edit), so every cell is printable.
 */
import type {Plan} from '../plan/model.ts'
import {shortDigest} from '../ref/digest.ts'
import {printable, printableJson} from '../ref/text.ts'
import {boxTable} from './box-table.ts'
import {footer, HEADINGS, row} from './plan-cells.ts'
import {renderMarkdown} from './plan-markdown.ts'

export type PlanFormat = 'table' | 'json' | 'markdown'

export {summaryLine} from './plan-cells.ts'

export function renderPlan(plan: Plan, format: PlanFormat): string {
  if (format === 'json') return `${printableJson(plan)}\n`
  if (format === 'markdown') return renderMarkdown(plan)
  return renderTable(plan)
}

/** Why entries failed their signature check, for stderr; empty when none did. */
export function renderSignatureFailures(plan: Plan): string {
  const failed = plan.entries.filter((e) => e.signature.status === 'failed')
  if (!failed.length) return ''
  const lines = failed.flatMap((e) => [`  ${printable(e.target)}: signature check failed`, ...e.signature.reasons.map((r) => `    ${printable(r)}`)])
  return `${failed.length} entr${failed.length === 1 ? 'y' : 'ies'} failed the signature check and will not be copied:\n${lines.join('\n')}\n`
}

/**
 * The lines for logs and pipes: one row per entry with whole names, so a target greps; then each conflict with
 * both digests and what to do, one line each, as apply lists its conflicts.
 */
function renderTable(plan: Plan): string {
  if (plan.entries.length === 0) return `No images in the definition.\n${footer(plan)}\n`
  return `${[boxTable(HEADINGS, plan.entries.map(row)), ...conflictLines(plan), footer(plan)].join('\n')}\n`
}

function conflictLines(plan: Plan): string[] {
  const conflicts = plan.entries.filter((e) => e.action === 'conflicting-ID')
  if (conflicts.length === 0) return []
  return [
    'Conflicts (a tag is never overwritten: mirror the image under another tag, or remove the target tag by hand, then plan again):',
    ...conflicts.map(
      (e) => `  ${printable(e.target)} holds ${shortDigest(e.targetDigest)}, the source ${printable(e.source)} is ${shortDigest(e.sourceDigest)}`,
    ),
  ]
}
