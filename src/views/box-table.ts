/**
 * The terminal tables of plan and apply: a box around columns, one line per row and no separators, drawn by
 * cli-table3. Drawn in blocks of rows: cli-table3 lays out each cell against every cell before it, so one table of
 * a 10,000-entry plan took 39 s of CPU to print; blocks of BLOCK_ROWS keep that cost linear in the rows. Every block
 * is widened to the widest cell of its column over the whole table, so the blocks line up into one box. No colours:
 * the output lands in CI logs and pull requests as often as on terminals.
 */
import Table from 'cli-table3'

/** Rows per cli-table3 table; its layout cost grows with the square of this, not of the whole table. */
export const BLOCK_ROWS = 50

const COMPACT = {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}

/** Cells are printable text already (views make them so); a cell with line breaks spans several lines. */
export function boxTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length <= BLOCK_ROWS) return draw(head, rows)
  const widths = head.map((cell) => widthOf(cell))
  for (const row of rows) head.forEach((_, c) => (widths[c] = Math.max(widths[c]!, widthOf(row[c] ?? ''))))
  const lines: string[] = []
  for (let start = 0; start < rows.length; start += BLOCK_ROWS) {
    const block = rows.slice(start, start + BLOCK_ROWS).map((row) => [...row])
    // Its first row padded to the table's widths: cli-table3 sizes each column to its widest cell.
    block[0] = head.map((_, c) => padFirstLine(block[0]![c] ?? '', widths[c]!))
    const drawn = draw(start === 0 ? head : [], block).split('\n')
    // One box: the top border only from the first block, the bottom one only from the last.
    lines.push(...drawn.slice(start === 0 ? 0 : 1, start + BLOCK_ROWS >= rows.length ? drawn.length : -1))
  }
  return lines.join('\n')
}

function draw(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const table = new Table({head: [...head], style: {head: [], border: []}, chars: COMPACT})
  for (const row of rows) table.push([...row])
  return table.toString()
}

function widthOf(cell: string): number {
  return Math.max(...cell.split('\n').map((line) => Bun.stringWidth(line)))
}

function padFirstLine(cell: string, width: number): string {
  const [first = '', ...rest] = cell.split('\n')
  return [first + ' '.repeat(Math.max(0, width - Bun.stringWidth(first))), ...rest].join('\n')
}
