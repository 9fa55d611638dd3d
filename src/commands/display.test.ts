import {expect, test} from 'bun:test'
import {displayFor, terminalWidth} from './display.ts'
import type {Io} from './io.ts'

const io = (stdoutIsTTY: boolean, columns?: number): Io => ({
  stdout() {},
  stderr() {},
  stderrIsTTY: stdoutIsTTY,
  stdoutIsTTY,
  columns,
  flush: async () => {},
})

test('COLUMNS wins over what the terminal says; 80 when neither says', () => {
  expect(terminalWidth({COLUMNS: '132'}, 100)).toBe(132)
  expect(terminalWidth({}, 100)).toBe(100)
  expect(terminalWidth({}, undefined)).toBe(80)
  expect(terminalWidth({COLUMNS: 'wide'}, undefined)).toBe(80)
})

test('stable lines when stdout is no terminal; colour on one, unless NO_COLOR or TERM=dumb', () => {
  expect(displayFor(io(false, 100), {}, false)).toStrictEqual({kind: 'lines'})
  expect(displayFor(io(true, 100), {}, false)).toStrictEqual({kind: 'screen', screen: {width: 100, colour: 'ansi'}, present: 'fold'})
  expect(displayFor(io(true, 100), {NO_COLOR: '1'}, true)).toStrictEqual({kind: 'screen', screen: {width: 100, colour: 'none'}, present: 'list'})
  expect(displayFor(io(true), {TERM: 'dumb'}, false)).toMatchObject({screen: {width: 80, colour: 'none'}})
})
