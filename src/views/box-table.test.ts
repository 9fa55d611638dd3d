import {describe, expect, test} from 'bun:test'
import {boxTable} from './box-table.ts'

describe('boxTable', () => {
  test('draws the box cli-table3 drew: padded columns, no separators between rows', () => {
    expect(boxTable(['A', 'Bee'], [['xx', 'y'], ['1', '']])).toBe(['┌────┬─────┐', '│ A  │ Bee │', '│ xx │ y   │', '│ 1  │     │', '└────┴─────┘'].join('\n'))
  })

  test('wide characters count two columns; a cell with a line break spans two lines', () => {
    expect(boxTable(['A', 'B'], [['漢字', 'multi\nline']])).toBe(['┌──────┬───────┐', '│ A    │ B     │', '│ 漢字 │ multi │', '│      │ line  │', '└──────┴───────┘'].join('\n'))
  })

  test('a header alone is a box of one line', () => {
    expect(boxTable(['Only'], [])).toBe(['┌──────┐', '│ Only │', '└──────┘'].join('\n'))
  })
})
