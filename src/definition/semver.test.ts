import {describe, expect, test} from 'bun:test'
import {compareVersions, parseRange, parseVersionTag, satisfies} from './semver.ts'

function inRange(range: string, tag: string): boolean | null {
  const parsed = parseRange(range)
  if (parsed.kind === 'invalid') throw new Error(parsed.reason)
  const version = parseVersionTag(tag)
  return version && satisfies(version, parsed.range)
}

describe('parseVersionTag: which tags are versions', () => {
  test.each([
    ['7.2.4', {numbers: [7, 2, 4], suffix: '', prerelease: false}],
    ['v1.8.2', {numbers: [1, 8, 2], suffix: '', prerelease: false}],
    ['7.2.4-debian-12-r0', {numbers: [7, 2, 4], suffix: 'debian-12-r0', prerelease: false}],
    ['1.25.3-alpine', {numbers: [1, 25, 3], suffix: 'alpine', prerelease: false}],
    ['8.0.0-rc1', {numbers: [8, 0, 0], suffix: 'rc1', prerelease: true}],
    ['2.0.0-beta.2', {numbers: [2, 0, 0], suffix: 'beta.2', prerelease: true}],
    ['1.0.0-preview', {numbers: [1, 0, 0], suffix: 'preview', prerelease: true}],
    ['1.0.0-rcfoo', {numbers: [1, 0, 0], suffix: 'rcfoo', prerelease: false}],
    ['1.2.3+build.5', {numbers: [1, 2, 3], suffix: 'build.5', prerelease: false}],
  ])('%s is a version', (tag, want) => {
    expect(parseVersionTag(tag)).toEqual(want as never)
  })

  test.each(['latest', '7', '7.2', '7.2.4.1', '01.2.3', 'v', 'sha256-abc.sig', '7.2.x'])('%s is not a version', (tag) => {
    expect(parseVersionTag(tag)).toBeNull()
  })
})

describe('satisfies: ranges judge the numbers; prereleases are never selected', () => {
  test.each([
    ['>=7.2 <8', '7.2.0', true],
    ['>=7.2 <8', '7.2.4-debian-12-r0', true],
    ['>=7.2 <8', '7.9.99', true],
    ['>=7.2 <8', '7.1.9', false],
    ['>=7.2 <8', '8.0.0', false],
    ['>=7.2 <8', '7.3.0-rc1', false],
    ['>= 7.2  < 8', '7.4.0', true],
    ['^1.8', '1.99.0', true],
    ['^1.8', '2.0.0', false],
    ['^1.8', '1.7.9', false],
    ['^0.2.3', '0.2.9', true],
    ['^0.2.3', '0.3.0', false],
    ['^0.0.3', '0.0.4', false],
    ['~1.8.2', '1.8.9', true],
    ['~1.8.2', '1.9.0', false],
    ['~1', '1.9.0', true],
    ['1.x', '1.4.0', true],
    ['1.x', '2.0.0', false],
    ['1.2', '1.2.7', true],
    ['1.2.3', '1.2.3-alpine', true],
    ['1.2.3', '1.2.4', false],
    ['>1.2', '1.2.9', false],
    ['>1.2', '1.3.0', true],
    ['<=1.2', '1.2.9', true],
    ['<=1.2', '1.3.0', false],
    ['>1.2.3', '1.2.3', false],
    ['<=1.2.3', '1.2.3', true],
    ['*', '0.0.1', true],
    ['1.x || >=3', '2.0.0', false],
    ['1.x || >=3', '3.1.0', true],
  ])('%s holds %s: %p', (range, tag, want) => {
    expect(inRange(range, tag)).toBe(want)
  })

  test.each([
    ['>=abc', '">=abc" is not a comparator (write e.g. >=1.2, <2, ^1.8, ~1.8.2, 1.x)'],
    ['1.x ||', 'an alternative around "||" is empty'],
    ['=>1', '"=>1" is not a comparator (write e.g. >=1.2, <2, ^1.8, ~1.8.2, 1.x)'],
    ['>=99999999999999999999', '">=99999999999999999999" has a number too large'],
  ])('%s is refused with one sentence', (range, reason) => {
    expect(parseRange(range)).toEqual({kind: 'invalid', reason})
  })
})

describe('compareVersions: the order `latest` keeps', () => {
  test('numbers, then a prerelease below its release, then suffixes in natural order', () => {
    const tags = ['7.2.4-debian-12-r10', '7.2.4', '7.10.0', '7.2.4-debian-12-r9', '7.2.4-rc1', '7.9.0']
    const sorted = [...tags].sort((a, b) => compareVersions(parseVersionTag(a)!, parseVersionTag(b)!))
    expect(sorted).toEqual(['7.2.4-rc1', '7.2.4', '7.2.4-debian-12-r9', '7.2.4-debian-12-r10', '7.9.0', '7.10.0'])
  })
})
