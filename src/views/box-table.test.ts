import {describe, expect, test} from 'bun:test'
import Table from 'cli-table3'
import {BLOCK_ROWS, boxTable} from './box-table.ts'

describe('boxTable', () => {
  test('padded columns, no separators between rows', () => {
    expect(
      boxTable(
        ['A', 'Bee'],
        [
          ['xx', 'y'],
          ['1', ''],
        ],
      ),
    ).toBe(['┌────┬─────┐', '│ A  │ Bee │', '│ xx │ y   │', '│ 1  │     │', '└────┴─────┘'].join('\n'))
  })

  test('wide characters count two columns; a cell with a line break spans two lines', () => {
    expect(boxTable(['A', 'B'], [['漢字', 'multi\nline']])).toBe(
      ['┌──────┬───────┐', '│ A    │ B     │', '│ 漢字 │ multi │', '│      │ line  │', '└──────┴───────┘'].join('\n'),
    )
  })

  test('a header alone is a box of one line', () => {
    expect(boxTable(['Only'], [])).toBe(['┌──────┐', '│ Only │', '└──────┘'].join('\n'))
  })

  test('a table of several blocks is the one box cli-table3 draws for all its rows at once', () => {
    // The widest cell of each column sits in a late block, and some cells span two lines.
    const rows = Array.from({length: BLOCK_ROWS * 2 + 37}, (_, i) => [`r${i}`, 'x'.repeat(i % 50), i % 97 === 0 ? `two\nlines ${i}` : '漢'.repeat(i % 7)])
    const whole = new Table({head: ['N', 'Text', 'More'], style: {head: [], border: []}, chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}})
    for (const row of rows) whole.push(row)
    expect(boxTable(['N', 'Text', 'More'], rows)).toBe(whole.toString())
  })
})
