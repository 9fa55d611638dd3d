import {describe, expect, test} from 'bun:test'
import {relativeTo, shortenMiddle, shortenName, widthOf, wrapWords} from './screen.ts'

describe('shortenName', () => {
  const NAME = '127.0.0.1:15002/external/bitnami/postgresql:16.4.0-debian-12-r1'

  test('a name that fits is left whole', () => {
    expect(shortenName(NAME, NAME.length)).toBe(NAME)
  })

  test.each([30, 40, 50])('in %d columns the repository loses its middle, never the tag', (room) => {
    const short = shortenName(NAME, room)
    expect(widthOf(short)).toBeLessThanOrEqual(room)
    expect(short).toEndWith(':16.4.0-debian-12-r1')
    expect(short).toStartWith('127.')
    expect(short).toContain('…')
  })

  test('a digest in a name is shown short', () => {
    expect(shortenName(`busybox@sha256:${'b'.repeat(64)}`, 80)).toBe(`busybox@sha256:${'b'.repeat(12)}`)
  })

  test('a tag too long for the room is shortened too, keeping its end', () => {
    const short = shortenName(`a/b:${'x'.repeat(50)}end`, 20)
    expect(widthOf(short)).toBeLessThanOrEqual(20)
    expect(short).toEndWith('end')
  })
})

test('shortenMiddle counts wide characters as two columns', () => {
  expect(widthOf(shortenMiddle('日本語の名前のイメージ', 9))).toBeLessThanOrEqual(9)
})

test('wrapWords breaks at spaces, and a word longer than a line wherever it must', () => {
  expect(wrapWords('one two three', 8)).toStrictEqual(['one two', 'three'])
  expect(wrapWords('x'.repeat(10), 4)).toStrictEqual(['xxxx', 'xxxx', 'xx'])
})

test('relativeTo strips the prefix only from names under it', () => {
  expect(relativeTo('r.io/m/', 'r.io/m/a:1')).toBe('a:1')
  expect(relativeTo('r.io/m/', 'other.io/a:1')).toBe('other.io/a:1')
  expect(relativeTo('', 'r.io/a:1')).toBe('r.io/a:1')
})
