import {describe, expect, test} from 'bun:test'
import {renderFailures, renderProblems} from './failures.ts'

/** What a terminal may act on: C0 but newline, DEL, C1. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/

describe('renderFailures', () => {
  test("a registry's escape sequences are shown as text, one line per entry", () => {
    const text = renderFailures('images.yaml', [
      {
        line: 3,
        source: 'r.io/acme/app:1',
        kind: 'registry',
        message: 'GET https://r.io/v2/acme/app/manifests/1: DENIED\x1b[2J: \x1b]8;;https://evil\x07click\x1b]8;;\x07\u009b31m\nfake line',
      },
    ])
    expect(text).not.toMatch(RAW_CONTROL)
    expect(text).toBe(
      'No plan was written: 1 entry could not be classified:\n' +
        '  images.yaml:3: r.io/acme/app:1: GET https://r.io/v2/acme/app/manifests/1: DENIED\\x1b[2J: \\x1b]8;;https://evil\\x07click\\x1b]8;;\\x07\\x9b31m\\x0afake line\n',
    )
  })
})

describe('renderProblems', () => {
  test('a definition value with C1 or bidi controls is shown escaped', () => {
    const text = renderProblems([{file: 'images.yaml', line: 4, column: 3, message: 'unknown key "a\u009b2Jb\u202e"'}])
    expect(text).not.toMatch(RAW_CONTROL)
    expect(text).toContain('unknown key "a\\x9b2Jb\\u202e"')
  })
})
