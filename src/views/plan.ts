/**
 * Rendering a plan for people: a terminal table, or Markdown for a pull-request comment. Platforms, signers and
 * reasons come from registries (and the whole plan from a file anyone may edit), so every cell is printable.
 */
import type {Plan, PlanEntry} from '../plan/model.ts'
import {shortDigest} from '../ref/digest.ts'
import {printable, printableJson} from '../ref/text.ts'
import {boxTable} from './box-table.ts'

export type PlanFormat = 'table' | 'json' | 'markdown'

export function renderPlan(plan: Plan, format: PlanFormat): string {
  if (format === 'json') return `${printableJson(plan)}\n`
  if (format === 'markdown') return renderMarkdown(plan)
  return renderTable(plan)
}

const HEADINGS = ['Source', 'Target', 'Action', 'Digest', 'Platforms', 'Signature'] as const

function row(entry: PlanEntry): string[] {
  return [entry.source, entry.target, entry.action, digestCell(entry), entry.platforms.join(', ') || '-', signatureCell(entry)].map((cell) => printable(cell))
}

/** A platform subset's digest is of an index image-syncer writes: the reviewer sees which source index it comes from. */
function digestCell(entry: PlanEntry): string {
  const digest = shortDigest(entry.sourceDigest)
  return entry.selection.kind === 'platforms' ? `${digest} (new index, from ${shortDigest(entry.selection.indexDigest)})` : digest
}

/**
 * `verified: key sha256:0123…` / `unsigned` / `failed` / `skipped`: who signed, briefly; then required
 * attestations, e.g. `; attestations 1/2 (slsa.dev/provenance/v1 missing)`.
 */
function signatureCell(entry: PlanEntry): string {
  const {status, signers, attestations} = entry.signature
  let cell: string = status
  if (status === 'verified' && signers.length > 0) {
    const first = signers[0]!
    const who = first.kind === 'key' ? `key ${shortDigest(first.fingerprint)}` : printable(first.subject)
    cell = `verified: ${who}${signers.length > 1 ? ` (+${signers.length - 1})` : ''}`
  }
  if (attestations.length === 0) return cell
  const unmet = attestations.filter((a) => a.status !== 'verified')
  const detail = unmet.length ? ` (${unmet.map((a) => `${printable(a.predicateType.replace(/^https:\/\//, ''))} ${a.status}`).join(', ')})` : ''
  return `${cell}; attestations ${attestations.length - unmet.length}/${attestations.length}${detail}`
}

export function summaryLine(plan: Plan): string {
  const s = plan.summary
  const failures = s.signatureFailures ? ` ${s.signatureFailures} signature failure${s.signatureFailures === 1 ? '' : 's'}.` : ''
  return `Plan: ${s.toCopy} to copy, ${s.alreadyPresent} already present, ${s.conflicting} conflicting.${failures}`
}

/**
 * Per source registry with something to say: `docker.io: 12 pulls needed, 88 left.` (the budget part only when
 * the registry announced one), so a reviewer sees whether apply fits in the Docker Hub rate limit.
 */
function pullLines(plan: Plan): string[] {
  return (plan.pulls ?? [])
    .filter((p) => p.needed > 0 || p.remaining !== null)
    .map((p) => `${p.registry}: ${p.needed} pull${p.needed === 1 ? '' : 's'} needed${p.remaining !== null ? `, ${p.remaining} left` : ''}.`)
}

/** The summary, then the pull lines; Markdown needs a blank line between them or it joins them into one. */
function footer(plan: Plan, separator = '\n'): string {
  return [summaryLine(plan), ...pullLines(plan)].join(separator)
}

/** Why entries failed their signature check, for stderr; empty when none did. */
export function renderSignatureFailures(plan: Plan): string {
  const failed = plan.entries.filter((e) => e.signature.status === 'failed')
  if (!failed.length) return ''
  const lines = failed.flatMap((e) => [`  ${printable(e.target)}: signature check failed`, ...e.signature.reasons.map((r) => `    ${printable(r)}`)])
  return `${failed.length} entr${failed.length === 1 ? 'y' : 'ies'} failed the signature check and will not be copied:\n${lines.join('\n')}\n`
}

function renderTable(plan: Plan): string {
  if (plan.entries.length === 0) return `No images in the definition.\n${footer(plan)}\n`
  return `${boxTable(HEADINGS, plan.entries.map(row))}\n${footer(plan)}\n`
}

function renderMarkdown(plan: Plan): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|')
  const header = [`| ${HEADINGS.join(' | ')} |`, `|${HEADINGS.map(() => ' --- ').join('|')}|`]
  const rowOf = (entry: PlanEntry) => {
    const [source, target, action, digest, platforms, signature] = row(entry)
    const marked = action === 'conflicting-ID' ? `**${action}**` : action!
    const signed = entry.signature.status === 'failed' ? `**${escape(signature!)}**` : escape(signature!)
    return `| \`${escape(source!)}\` | \`${escape(target!)}\` | ${marked} | \`${digest}\` | ${escape(platforms!)} | ${signed} |`
  }
  const plain = plan.entries.filter((e) => e.rule === undefined)
  // A plan without rules renders as before: one table.
  const sections = plain.length || !plan.rules?.length ? [[...header, ...plain.map(rowOf)].join('\n')] : []
  ;(plan.rules ?? []).forEach((rule, i) => {
    const entries = plan.entries.filter((e) => e.rule === i)
    const heading = `**\`${escape(printable(rule.source))}\`** tags \`${escape(printable(JSON.stringify(rule.tags)))}\` (line ${rule.line}): ${rule.matched.length} of ${rule.listed} listed tags`
    sections.push(entries.length ? [heading, '', ...header, ...entries.map(rowOf)].join('\n') : `${heading}, nothing to plan`)
  })
  return `${sections.join('\n\n')}\n\n${footer(plan, '\n\n')}\n`
}
