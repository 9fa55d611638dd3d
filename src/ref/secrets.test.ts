import {describe, expect, test} from 'bun:test'
import {Secrets} from './secrets.ts'

describe('Secrets', () => {
  test('masks every occurrence, in the forms a secret travels in: as is, JSON-escaped, URL-encoded', () => {
    const secrets = new Secrets()
    secrets.add('pa"ss/wo rd')
    expect(secrets.mask('a pa"ss/wo rd b pa"ss/wo rd')).toBe('a REDACTED b REDACTED')
    expect(secrets.mask(JSON.stringify({m: 'x pa"ss/wo rd'}))).toBe('{"m":"x REDACTED"}')
    expect(secrets.mask('?password=pa%22ss%2Fwo%20rd')).toBe('?password=REDACTED')
  })

  test('a secret containing another is masked whole; a very short one is not masked at all', () => {
    const secrets = new Secrets()
    secrets.add('abcd')
    secrets.add('xxabcdxx')
    secrets.add('abc')
    expect(secrets.mask('xxabcdxx abcd abc')).toBe('REDACTED REDACTED abc')
  })

  test('maskValue masks the strings of structured data, keeping its shape', () => {
    const secrets = new Secrets()
    const value = {entries: [{message: 'sent Bearer tok-1234', bytes: 3}], interrupted: false, none: null}
    expect(secrets.maskValue(value)).toBe(value)
    secrets.add('tok-1234')
    expect(secrets.maskValue(value)).toEqual({entries: [{message: 'sent Bearer REDACTED', bytes: 3}], interrupted: false, none: null})
    expect(value.entries[0]!.message).toBe('sent Bearer tok-1234')
  })
})
