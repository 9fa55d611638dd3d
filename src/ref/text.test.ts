import {describe, expect, test} from 'bun:test'
import {quoted} from './text.ts'

describe('quoted', () => {
  test('JSON-quotes a value so control characters and quotes show as escapes', () => {
    expect(quoted('a\u001b[31m"b', 100)).toBe('"a\\u001b[31m\\"b"')
    expect(quoted(undefined, 100)).toBe('null')
    expect(quoted({type: 1}, 100)).toBe('{"type":1}')
  })

  test('cuts a long value to the limit, keeping the closing quote', () => {
    const shown = quoted('x'.repeat(1000), 120)
    expect(shown).toHaveLength(119)
    expect(shown.endsWith('x…"')).toBe(true)
  })
})
