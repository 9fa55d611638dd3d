/** Rendering the merged results of all shards: the apply table (or JSON), and which shards are missing. */
import type {MergedResults} from '../apply/merge-results.ts'
import {printableJson} from '../ref/text.ts'
import {renderApplyResult} from './apply.ts'
import {applyView} from './display.ts'
import type {Display} from './screen.ts'

type ReportFormat = 'table' | 'markdown' | 'json'

/** `all 4 shards reported` or `shards 2/4, 4/4 sent no result file: …`, the line a reader looks for first. */
function shardsLine({shards, plan}: MergedResults): string {
  const unchecked = plan === null ? ' Not checked against the plan (--unchecked).' : ''
  const unaccounted =
    shards.unaccounted > 0
      ? ` ${shards.unaccounted} entr${shards.unaccounted === 1 ? 'y' : 'ies'} of the plan ha${shards.unaccounted === 1 ? 's' : 've'} no outcome.`
      : ''
  if (shards.missing.length === 0) return `All ${shards.count} shard${shards.count === 1 ? '' : 's'} reported.${unaccounted}${unchecked}`
  const names = shards.missing.map((i) => `${i}/${shards.count}`).join(', ')
  return `Missing shard${shards.missing.length === 1 ? '' : 's'} ${names}: no result file, so their entries are not in this report (run them again).${unaccounted}${unchecked}`
}

/** The table goes to the terminal's width when `display` is a screen; the Markdown always holds the stable lines. */
export function renderReport(merged: MergedResults, format: ReportFormat, display: Display = {kind: 'lines'}): string {
  if (format === 'json') return `${printableJson({...merged.result, shards: merged.shards, plan: merged.plan})}\n`
  if (format === 'table') return `${applyView(merged.result, 'table', display)}${shardsLine(merged)}\n`
  const table = renderApplyResult(merged.result, 'table')
  return `### image-syncer report\n\n${shardsLine(merged)}\n\n\`\`\`text\n${table.replace(/`{3,}/g, "'''")}\`\`\`\n`
}
