/**
 * The terminal tables of plan and apply: a box around columns, one line per row and no separators, drawn as
 * cli-table3 drew them. Written here because cli-table3 lays out each cell against every cell before it: a
 * 10,000-entry plan took 39 s of CPU to print, this takes milliseconds. No colours: the output lands in CI
 * logs and pull requests as often as on terminals.
 */

/** Cells are printable text already (views make them so); a cell with line breaks spans several lines. */
export function boxTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [head, ...rows].map((row) => head.map((_, c) => (row[c] ?? '').split('\n')))
  const widths = head.map(() => 0)
  for (const row of all) row.forEach((lines, c) => lines.forEach((line) => (widths[c] = Math.max(widths[c]!, Bun.stringWidth(line)))))
  const rule = (left: string, middle: string, right: string) => `${left}${widths.map((w) => '─'.repeat(w + 2)).join(middle)}${right}`
  const out = [rule('┌', '┬', '┐')]
  for (const row of all) {
    const height = Math.max(...row.map((lines) => lines.length))
    for (let l = 0; l < height; l++) {
      const cells = row.map((lines, c) => {
        const text = lines[l] ?? ''
        return ` ${text}${' '.repeat(widths[c]! - Bun.stringWidth(text))} `
      })
      out.push(`│${cells.join('│')}│`)
    }
  }
  out.push(rule('└', '┴', '┘'))
  return out.join('\n')
}
