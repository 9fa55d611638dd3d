/**
 * Entries grouped by what happens to them, drawn to fit a terminal, as Terraform draws a plan: each group is a
 * heading with its symbol, then its entries as an aligned table with no borders when one fits the width, or
 * else as blocks of one line per field. A name is never shortened to make a table fit (the table becomes blocks
 * instead, where a name has the whole line); only a name too long for a line is shortened, in its middle.
 */
import {paint, type Screen, shortenMiddle, shortenName, type Style, widthOf, wrapWords} from './screen.ts'

/**
 * How a value too long for its room is made to fit. `name`: an image reference, never shortened in a table,
 * shortened in the middle (its tag kept) in a block. `list`: `a, b, c`, as `a, b +1` in a table and wrapped in
 * a block. `text`: shortened in the middle in a table, wrapped in a block. `whole`: never shortened (a digest).
 */
export type Fit = 'name' | 'list' | 'text' | 'whole'

export interface Field {
  label: string
  value: string
  fit: Fit
}

export interface Item {
  /** What the entry is called: its target, relative to the prefix the view names once. */
  title: string
  fields: Field[]
  /** Sentences under a block: why, and what to do. An item with notes is always drawn as a block. */
  notes: string[]
}

export interface Group {
  symbol: string
  style: Style
  heading: string
  /** The title column's heading in a table. */
  titleLabel: string
  items: Item[]
}

const ROW_INDENT = 4
const GAP = 2
const FIELD_INDENT = 6

/** The group's lines: its heading, then a table when it fits `screen.width`, blocks otherwise; a group without items is its heading alone. */
export function renderGroup(group: Group, screen: Screen): string[] {
  const symbol = paint(screen, group.style, group.symbol)
  const [first = '', ...rest] = wrapWords(group.heading, screen.width - 2)
  const lines = [`${symbol} ${paint(screen, 'bold', first)}`, ...rest.map((line) => `  ${paint(screen, 'bold', line)}`)]
  if (group.items.length === 0) return lines
  return [...lines, ...(table(group, screen) ?? blocks(group, screen))]
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - widthOf(text)))
}

/** The smallest a column may become in a table; names and digests keep their width. */
function minimum(fit: Fit, heading: string, natural: number): number {
  if (fit === 'list') return Math.min(natural, Math.max(widthOf(heading), 14))
  if (fit === 'text') return Math.min(natural, Math.max(widthOf(heading), 12))
  return natural
}

function table(group: Group, screen: Screen): string[] | null {
  if (group.items.some((item) => item.notes.length > 0)) return null
  const first = group.items[0]!
  const columns = [{label: group.titleLabel, fit: 'name' as Fit}, ...first.fields.map(({label, fit}) => ({label: capitalised(label), fit}))]
  const cells = group.items.map((item) => [item.title, ...item.fields.map((f) => f.value)])
  const widths = columns.map((c, i) => Math.max(widthOf(c.label), ...cells.map((row) => widthOf(row[i] ?? ''))))
  const mins = columns.map((c, i) => minimum(c.fit, c.label, widths[i]!))
  const total = (ws: readonly number[]) => ROW_INDENT + ws.reduce((a, b) => a + b, 0) + GAP * (ws.length - 1)
  if (total(mins) > screen.width) return null
  // The column with the most to give gives one column at a time, so the shrinking is shared out evenly.
  for (let excess = total(widths) - screen.width; excess > 0; excess--) {
    let widest = -1
    widths.forEach((w, i) => {
      if (w > mins[i]! && (widest < 0 || w - mins[i]! > widths[widest]! - mins[widest]!)) widest = i
    })
    widths[widest]!--
  }
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => pad(fitCell(cell, columns[i]!.fit, widths[i]!), widths[i]!))
      .join(' '.repeat(GAP))
      .trimEnd()
  const symbol = paint(screen, group.style, group.symbol)
  return [`${' '.repeat(ROW_INDENT)}${paint(screen, 'dim', line(columns.map((c) => c.label)))}`, ...cells.map((row) => `  ${symbol} ${line(row)}`)]
}

function fitCell(value: string, fit: Fit, room: number): string {
  if (fit === 'list') return shortenList(value, room)
  if (fit === 'text') return shortenMiddle(value, room)
  return value
}

/** `linux/amd64, linux/arm64, linux/s390x` in `room` columns: the first items that fit and `+N` for the others. */
export function shortenList(value: string, room: number): string {
  if (widthOf(value) <= room) return value
  const items = value.split(', ')
  for (let shown = items.length - 1; shown >= 1; shown--) {
    const text = `${items.slice(0, shown).join(', ')} +${items.length - shown}`
    if (widthOf(text) <= room) return text
  }
  return shortenMiddle(value, room)
}

function blocks(group: Group, screen: Screen): string[] {
  const labelWidth = Math.max(0, ...group.items.flatMap((item) => item.fields.map((f) => widthOf(f.label))))
  const room = Math.max(8, screen.width - FIELD_INDENT - labelWidth - ' = '.length)
  const continuation = ' '.repeat(FIELD_INDENT + labelWidth + ' = '.length)
  const symbol = paint(screen, group.style, group.symbol)
  return group.items.flatMap((item, index) => [
    ...(index > 0 ? [''] : []),
    `  ${symbol} ${shortenName(item.title, screen.width - ROW_INDENT)}`,
    ...item.fields.flatMap(({label, value, fit}) => {
      const [head = '', ...more] = fit === 'name' ? [shortenName(value, room)] : wrapWords(value, room)
      return [`${' '.repeat(FIELD_INDENT)}${pad(label, labelWidth)} = ${head}`, ...more.map((l) => `${continuation}${l}`)]
    }),
    ...item.notes.flatMap((note) => noteLines(note, screen.width)),
  ])
}

/** Prose reads badly past ~100 columns, however wide the terminal. */
const MAX_NOTE_WIDTH = 100

/** A note wrapped under its block; a `- ` item's continuation lines hang under its text. */
function noteLines(note: string, width: number): string[] {
  const hang = note.startsWith('- ') ? 2 : 0
  const room = Math.min(width, MAX_NOTE_WIDTH) - FIELD_INDENT
  const [first = '', ...rest] = wrapWords(note, room)
  const more = rest.length ? wrapWords(note.slice(first.length).trimStart(), room - hang) : []
  return [`${' '.repeat(FIELD_INDENT)}${first}`, ...more.map((l) => `${' '.repeat(FIELD_INDENT + hang)}${l}`)]
}

function capitalised(label: string): string {
  return label.charAt(0).toUpperCase() + label.slice(1)
}
