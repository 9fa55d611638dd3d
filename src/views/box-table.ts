/**
 * The terminal tables of plan and apply: a box around columns, one line per row and no separators, exactly as
 * cli-table3 draws it with those settings (the test holds the two equal). Drawn here: cli-table3 lays out each cell
 * against every cell before it (39 s of CPU for a 10,000-row table), and even in blocks of 50 rows such a table
 * took ~0.5 s and ~140 MiB of short-lived memory, the highest peak of a 10,000-entry plan; this is one pass over the
 * cells. No colours: the output lands in CI logs and pull requests as often as on terminals.
 */

/** Cells are printable text already (views make them so); a cell with line breaks spans several lines. */
export function boxTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [head, ...rows].map((row) => head.map((_, c) => (row[c] ?? '').split('\n')))
  const widths = head.map(() => 0)
  for (const row of lines)
    row.forEach((cell, c) => {
      for (const line of cell) widths[c] = Math.max(widths[c]!, Bun.stringWidth(line))
    })
  const rule = (left: string, middle: string, right: string) => `${left}${widths.map((w) => '─'.repeat(w + 2)).join(middle)}${right}`
  const out = [rule('┌', '┬', '┐')]
  for (const row of lines) {
    const height = row.reduce((most, cell) => Math.max(most, cell.length), 1)
    for (let k = 0; k < height; k++) out.push(`│${row.map((cell, c) => ` ${padded(cell[k] ?? '', widths[c]!)} `).join('│')}│`)
  }
  out.push(rule('└', '┴', '┘'))
  return out.join('\n')
}

function padded(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - Bun.stringWidth(text)))
}
