/**
 * The words of a plan that every view shares: the six cells of an entry's row, the summary line, the size and
 * the pull lines. Cells quote registries and a file anyone may edit, so each one is printable.
 */
import type {Plan, PlanEntry} from '../plan/model.ts'
import {shortDigest} from '../ref/digest.ts'
import {printable} from '../ref/text.ts'
import {formatBytes} from './apply.ts'

export const HEADINGS = ['Source', 'Target', 'Action', 'Digest', 'Platforms', 'Signature'] as const

export function row(entry: PlanEntry): string[] {
  return [entry.source, entry.target, entry.action, digestCell(entry), platformsCell(entry), signatureCell(entry)].map((cell) => printable(cell))
}

/** An artifact (a Helm chart) has no platforms: the cell says what it is instead. */
function platformsCell(entry: PlanEntry): string {
  return entry.artifactType !== undefined ? `artifact: ${entry.artifactType}` : entry.platforms.join(', ') || '-'
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
export function pullLines(plan: Plan): string[] {
  return (plan.pulls ?? [])
    .filter((p) => p.needed > 0 || p.remaining !== null)
    .map((p) => `${p.registry}: ${p.needed} pull${p.needed === 1 ? '' : 's'} needed${p.remaining !== null ? `, ${p.remaining} left` : ''}.`)
}

/**
 * `Size to copy: 1.2 GB, and 3 entries of unknown size.`: what the entries apply will copy weigh, as far as the
 * plan recorded it (single manifests; an index's children are not read while planning). Nothing when it
 * recorded none, so such a plan reads as before. A blob two entries share is counted in both.
 */
export function sizeLines(plan: Plan): string[] {
  const copied = plan.entries.filter((e) => e.action === 'to-copy' && e.signature.status !== 'failed')
  const known = copied.filter((e) => e.bytes !== undefined)
  if (known.length === 0) return []
  const unknown = copied.length - known.length
  const rest = unknown ? `, and ${unknown} entr${unknown === 1 ? 'y' : 'ies'} of unknown size` : ''
  return [`Size to copy: ${formatBytes(known.reduce((sum, e) => sum + e.bytes!, 0))}${rest}.`]
}

/** The summary, the size, then the pull lines; Markdown needs a blank line between them or it joins them into one. */
export function footer(plan: Plan, separator = '\n'): string {
  return [summaryLine(plan), ...sizeLines(plan), ...pullLines(plan)].join(separator)
}
