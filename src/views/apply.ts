/**
 * Rendering what apply did: a narrow table with the long messages below it, or the result as JSON. Error
 * messages quote registries and targets come from the plan file, so both are made printable: an escape sequence
 * in a registry's error message is shown as `\x1b[…`, never sent to the terminal.
 */
import type {ApplyResult, BlobCounts, EntryOutcome} from '../apply/model.ts'
import {shortDigest} from '../ref/digest.ts'
import {printable, printableJson} from '../ref/text.ts'
import {boxTable} from './box-table.ts'

export type ApplyFormat = 'table' | 'json'

export function renderApplyResult(result: ApplyResult, format: ApplyFormat): string {
  // JSON is for scripts: the data as it is, sizes in bytes and durations in milliseconds, nothing rounded.
  if (format === 'json') return `${printableJson(result)}\n`
  return renderTable(result)
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const

/**
 * `0 B`, `999 B`, `1.0 kB`, `1.5 MB`: decimal units with one decimal, as docker prints image sizes, so the
 * numbers here match what people compare them with.
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '? B'
  if (n < 1000) return `${Math.round(n)} B`
  let unit = 0
  let value = n
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000
    unit++
  }
  // 999_960 bytes would otherwise print as "1000.0 kB".
  if (Number(value.toFixed(1)) >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(1)} ${BYTE_UNITS[unit]}`
}

/**
 * `0.0s`, `1.2s`, `1m 1s`: tenths of a second are enough for a copy, and minutes read better than `61.0s`.
 * Rounded on whole milliseconds so that 950 ms gives `1.0s`, not the `0.9s` of binary floating point.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?'
  const tenths = Math.round(ms / 100)
  if (tenths < 600) return `${Math.floor(tenths / 10)}.${tenths % 10}s`
  const seconds = Math.round(ms / 1000)
  const hours = Math.floor(seconds / 3600)
  const minutes = Math.floor((seconds % 3600) / 60)
  const rest = seconds % 60
  return hours > 0 ? `${hours}h ${minutes}m ${rest}s` : `${minutes}m ${rest}s`
}

/** `3 up, 1 mounted, 2 present`; `-` when no blob was looked at (an image already at its target). */
export function formatBlobCounts(blobs: BlobCounts): string {
  if (blobs.uploaded + blobs.mounted + blobs.present === 0) return '-'
  return `${blobs.uploaded} up, ${blobs.mounted} mounted, ${blobs.present} present`
}

/** The summary line, and the line saying an interrupted run is unfinished: the last lines of every apply view. */
export function applyFooter(result: ApplyResult): string[] {
  return [applySummaryLine(result), ...(result.interrupted ? [INTERRUPTED_LINE] : [])]
}

function applySummaryLine(result: ApplyResult): string {
  const s = result.summary
  const conflicts = `${s.conflicts} conflict${s.conflicts === 1 ? '' : 's'}`
  return (
    `Apply: ${s.copied} copied, ${s.alreadyPresent} already present, ${conflicts}, ${s.failed} failed; ` +
    `${formatBytes(s.bytes)} transferred in ${formatDuration(result.durationMs)}.`
  )
}

const INTERRUPTED_LINE = 'Interrupted: run apply again to finish.'

const HEADINGS = ['Source', 'Target', 'Result', 'Bytes', 'Blobs', 'Duration'] as const

function row(entry: EntryOutcome): string[] {
  return [
    printable(entry.source),
    printable(entry.target),
    entry.result.kind,
    formatBytes(entry.bytes),
    formatBlobCounts(entry.blobs),
    formatDuration(entry.durationMs),
  ]
}

/** Continuation lines of a multi-line message stay indented under their entry, so none can pose as another line. */
function indented(text: string): string {
  return printable(text, {multiline: true}).replace(/\n/g, '\n    ')
}

/**
 * Error messages and conflicting digests go below the table, one line each: in a column they would widen
 * the table past the terminal and wrap every row.
 */
function details(entries: readonly EntryOutcome[]): string[] {
  const lines: string[] = []
  const failed = entries.filter((e) => e.result.kind === 'failed')
  if (failed.length > 0) {
    lines.push('Failed:')
    for (const e of failed) if (e.result.kind === 'failed') lines.push(`  ${printable(e.target)}: ${indented(e.result.message)}`)
  }
  const conflicts = entries.filter((e) => e.result.kind === 'conflict')
  if (conflicts.length > 0) {
    lines.push('Conflicts:')
    for (const e of conflicts) {
      if (e.result.kind === 'conflict') lines.push(`  ${printable(e.target)} holds ${shortDigest(e.result.targetDigest)}, not overwritten`)
    }
  }
  return lines
}

function renderTable(result: ApplyResult): string {
  const lines: string[] = []
  if (result.entries.length === 0) {
    lines.push('No images were applied.')
  } else {
    lines.push(boxTable(HEADINGS, result.entries.map(row)), ...details(result.entries))
  }
  lines.push(...applyFooter(result))
  return `${lines.join('\n')}\n`
}
