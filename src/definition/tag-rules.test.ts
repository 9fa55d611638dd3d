import {describe, expect, test} from 'bun:test'
import {compileTagRule, DEFAULT_MAX_TAGS, selectTags, type TagRule} from './tag-rules.ts'
import type {TagRuleBlock} from './schema.ts'

function rule(spec: TagRuleBlock): TagRule {
  const compiled = compileTagRule(spec)
  if (compiled.kind === 'invalid') throw new Error(JSON.stringify(compiled.problems))
  return compiled.rule
}

/** What a Bitnami-like repository lists, in the registry's (lexical) order. */
const LISTED = [
  '7.0.15',
  '7.2',
  '7.2.4-debian-11-r0',
  '7.2.4-debian-12-r0',
  '7.2.5-debian-12-r1',
  '7.4.0-debian-12-r0',
  '8.0.0-rc1',
  '8.0.1',
  'latest',
  'sha256-abc.sig',
]

describe('selectTags', () => {
  test('semver with an excluded suffix and latest: the highest versions in range, highest first', () => {
    expect(selectTags(rule({semver: '>=7.2 <8', exclude: ['*-debian-11-*'], latest: 2}), LISTED)).toEqual(['7.4.0-debian-12-r0', '7.2.5-debian-12-r1'])
  })
  test('semver skips tags that are not versions and prereleases', () => {
    expect(selectTags(rule({semver: '>=7'}), LISTED)).toEqual([
      '8.0.1',
      '7.4.0-debian-12-r0',
      '7.2.5-debian-12-r1',
      '7.2.4-debian-12-r0',
      '7.2.4-debian-11-r0',
      '7.0.15',
    ])
  })
  test('regex is anchored: a pattern matches whole tags only', () => {
    expect(selectTags(rule({regex: '7\\.2'}), LISTED)).toEqual(['7.2'])
    expect(selectTags(rule({regex: '7\\.2.*'}), LISTED)).toEqual(['7.2', '7.2.4-debian-11-r0', '7.2.4-debian-12-r0', '7.2.5-debian-12-r1'])
  })
  test('regex and semver together: a tag must pass both', () => {
    expect(selectTags(rule({semver: '^7', regex: '.*-debian-12-.*'}), LISTED)).toEqual(['7.4.0-debian-12-r0', '7.2.5-debian-12-r1', '7.2.4-debian-12-r0'])
  })
  test('latest keeps the highest versions, or the last listed when some candidate is not a version', () => {
    expect(selectTags(rule({latest: 3}), LISTED)).toEqual(['8.0.1', 'latest', 'sha256-abc.sig'])
    expect(selectTags(rule({latest: 2, exclude: ['sha256-*', 'latest']}), LISTED)).toEqual(['8.0.0-rc1', '8.0.1'])
    // Once every candidate is a version, version order decides (a prerelease too: no semver range excludes it).
    expect(selectTags(rule({latest: 2, exclude: ['sha256-*', 'latest', '7.2']}), LISTED)).toEqual(['8.0.1', '8.0.0-rc1'])
  })
  test('all with exclude: every tag but the excluded ones, in the registry order', () => {
    expect(selectTags(rule({all: true, exclude: ['*-debian-*', 'sha256-*', '7.?']}), LISTED)).toEqual(['7.0.15', '8.0.0-rc1', '8.0.1', 'latest'])
  })
  test('a listed string that is not a valid tag is never selected; duplicates count once', () => {
    expect(selectTags(rule({all: true}), ['ok', '../etc', '-x', 'ok', 'a'.repeat(129)])).toEqual(['ok'])
  })
  test("cosign's artifact tags are never selected: they travel with their image", () => {
    const sig = `sha256-${'a'.repeat(64)}`
    expect(selectTags(rule({all: true}), ['1.0', `${sig}.sig`, `${sig}.att`, sig, 'sha256-short'])).toEqual(['1.0', 'sha256-short'])
  })
  test('an exclude glob is literal but for * and ?', () => {
    expect(selectTags(rule({all: true, exclude: ['1.0+*']}), ['1.0+x', '1.00x'])).toEqual(['1.00x'])
  })
})

describe('compileTagRule', () => {
  test('maxTags defaults to 100', () => {
    expect(rule({all: true}).maxTags).toBe(DEFAULT_MAX_TAGS)
    expect(rule({all: true, maxTags: 5}).maxTags).toBe(5)
  })
  test.each([
    [{exclude: ['x']}, [{key: null, message: 'tags needs at least one selector: semver, regex, latest or all'}]],
    [{all: true, semver: '1.x'}, [{key: 'all', message: 'tags.all selects every tag: drop it, or drop semver and regex'}]],
    [{semver: '>>1'}, [{key: 'semver', message: 'tags.semver is not a version range: ">>1" is not a comparator (write e.g. >=1.2, <2, ^1.8, ~1.8.2, 1.x)'}]],
    [{regex: '(unclosed'}, [{key: 'regex', message: expect.stringContaining('tags.regex is not a valid regular expression: ')}]],
  ] as const)('%p is refused', (spec, problems) => {
    expect(compileTagRule(spec as TagRuleBlock)).toEqual({kind: 'invalid', problems: problems as never})
  })
})
