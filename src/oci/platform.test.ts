import {describe, expect, test} from 'bun:test'
import {parsePlatform, platformMatches} from './platform.ts'

const p = (text: string) => parsePlatform(text)!

describe('parsePlatform', () => {
  test('os/arch and os/arch/variant', () => {
    expect(parsePlatform('linux/amd64')).toEqual({os: 'linux', architecture: 'amd64'})
    expect(parsePlatform('linux/arm/v7')).toEqual({os: 'linux', architecture: 'arm', variant: 'v7'})
  })
  test('anything else is not a platform', () => {
    for (const text of ['linux', 'linux/', '/amd64', 'linux/amd64/', 'linux/arm/v7/x', 'Linux/AMD64', 'linux amd64', '']) expect(parsePlatform(text)).toBeNull()
  })
})

describe('platformMatches: OCI matching with default variants', () => {
  const cases: [string, {os: string; architecture: string; variant?: string}, boolean][] = [
    ['linux/arm64', {os: 'linux', architecture: 'arm64', variant: 'v8'}, true],
    ['linux/arm64', {os: 'linux', architecture: 'arm64'}, true],
    ['linux/arm64/v8', {os: 'linux', architecture: 'arm64'}, true],
    ['linux/arm64', {os: 'linux', architecture: 'arm64', variant: 'v9'}, false],
    ['linux/arm/v7', {os: 'linux', architecture: 'arm', variant: 'v6'}, false],
    ['linux/arm/v6', {os: 'linux', architecture: 'arm', variant: 'v6'}, true],
    ['linux/arm', {os: 'linux', architecture: 'arm', variant: 'v7'}, true],
    ['linux/arm', {os: 'linux', architecture: 'arm', variant: 'v6'}, false],
    // amd64Only always took any amd64 (v2/v3 are CPU levels); linux/amd64 keeps meaning that.
    ['linux/amd64', {os: 'linux', architecture: 'amd64', variant: 'v3'}, true],
    ['linux/amd64/v3', {os: 'linux', architecture: 'amd64'}, false],
    ['linux/amd64', {os: 'windows', architecture: 'amd64'}, false],
    ['linux/amd64', {os: 'unknown', architecture: 'unknown'}, false],
  ]
  for (const [requested, offered, want] of cases) {
    test(`${requested} ${want ? 'matches' : 'does not match'} ${JSON.stringify(offered)}`, () => expect(platformMatches(p(requested), offered)).toBe(want))
  }
  test('nothing offered matches nothing', () => expect(platformMatches(p('linux/amd64'), undefined)).toBe(false))
})
