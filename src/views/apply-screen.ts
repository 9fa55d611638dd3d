/**
 * What apply did, on a terminal, to its width: the targets' common prefix said once, then the entries grouped by
 * outcome (`=` already there, `+` copied, `!` conflict, `x` failed), those that need someone last, each failure
 * with its whole message wrapped under it. Messages quote registries and targets come from the plan file:
 * printable, so an escape sequence is shown as `\x1b[…`, never sent to the terminal.
 */
import type {ApplyResult, EntryOutcome} from '../apply/model.ts'
import {shortDigest} from '../ref/digest.ts'
import {printable} from '../ref/text.ts'
import {applyFooter, formatBlobCounts, formatBytes, formatDuration} from './apply.ts'
import {type Field, type Group, type Item, renderGroup} from './entry-groups.ts'
import {type PresentEntries, relativeTo, type Screen, shortDigestsIn, wrapWords} from './screen.ts'

export function renderApplyScreen(result: ApplyResult, screen: Screen, present: PresentEntries): string {
  const prefix = commonPrefix(result.entries.map((e) => printable(e.target)))
  const lines = prefix ? wrapWords(`Into ${prefix} (targets are shown relative to it)`, screen.width) : []
  if (result.entries.length === 0) lines.push('No images were applied.')
  const by = (kind: EntryOutcome['result']['kind']) => result.entries.filter((e) => e.result.kind === kind).map((e) => itemOf(e, prefix))
  const presentItems = by('already-present')
  const groups = [
    // Folded, the group is its heading alone: a count, and the flag that lists them.
    present === 'list'
      ? group('=', 'dim', `already-present: ${count(presentItems.length)}, left as they were`, presentItems)
      : group('=', 'dim', `already-present: ${count(presentItems.length)}, left as they were (--show-present lists them)`, [], presentItems.length),
    group('+', 'green', `copied: ${count(by('copied').length)}`, by('copied')),
    group('!', 'red', `conflict: ${count(by('conflict').length)}, not overwritten`, by('conflict')),
    group('x', 'red', `failed: ${count(by('failed').length)}`, by('failed')),
  ]
  for (const g of groups) if (g.entries > 0) lines.push('', ...renderGroup(g, screen))
  lines.push('', ...applyFooter(result).flatMap((line) => wrapWords(line, screen.width)))
  return `${lines.join('\n')}\n`
}

/** The longest `…/` every target starts with: one plan's targets share its prefix, and often more. */
export function commonPrefix(names: readonly string[]): string {
  if (names.length === 0) return ''
  let prefix = names[0]!
  for (const name of names) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1)
  return prefix.slice(0, prefix.lastIndexOf('/') + 1)
}

function group(symbol: string, style: Group['style'], heading: string, items: Item[], entries = items.length): Group & {entries: number} {
  return {symbol, style, heading, titleLabel: 'Target', items, entries}
}

function count(n: number): string {
  return `${n} entr${n === 1 ? 'y' : 'ies'}`
}

function itemOf(entry: EntryOutcome, prefix: string): Item {
  const title = relativeTo(prefix, printable(entry.target))
  const source: Field = {label: 'source', value: shortDigestsIn(printable(entry.source)), fit: 'name'}
  const digest: Field = {label: 'digest', value: shortDigest(entry.sourceDigest), fit: 'whole'}
  const took: Field = {label: 'duration', value: formatDuration(entry.durationMs), fit: 'whole'}
  const {result} = entry
  switch (result.kind) {
    case 'conflict':
      return {
        title,
        fields: [
          source,
          {label: 'source has', value: digest.value, fit: 'whole'},
          {label: 'target has', value: shortDigest(result.targetDigest), fit: 'whole'},
        ],
        notes: [
          `The tag holds ${shortDigest(result.targetDigest)}, not the planned ${digest.value}, and was left untouched: image-syncer never overwrites a tag. ` +
            'Mirror this image under another tag, or remove the target tag by hand, then plan again.',
        ],
      }
    case 'failed':
      return {title, fields: [source, digest, took], notes: [printable(result.message, {multiline: true})]}
    default:
      return {
        title,
        fields: [
          source,
          digest,
          {label: 'bytes', value: formatBytes(entry.bytes), fit: 'whole'},
          {label: 'blobs', value: formatBlobCounts(entry.blobs), fit: 'text'},
          took,
        ],
        notes: [],
      }
  }
}
