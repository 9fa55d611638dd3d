/** The definition keys of issue 9 (`target:` renames, `tags:` rules) as the loader reads and refuses them. */
import {describe, expect, test} from 'bun:test'
import type {Problem} from './errors.ts'
import {parseDefinition} from './load.ts'
import {definitionProblems} from '../../test/support/definition-problems.ts'

const problemsOf = (text: string): Problem[] => definitionProblems(() => parseDefinition(FILE, text, FILE_SHA), text)

const FILE = 'external-images.yaml'
const FILE_SHA = `sha256:${'0'.repeat(64)}`
const PREFIX = 'eu.gcr.io/kyma-project/external/'

function withImages(...lines: string[]): string {
  return [`targetRepoPrefix: "${PREFIX}"`, 'images:', ...lines, ''].join('\n')
}

describe('target: renames', () => {
  test('the path replaces the mirrored name under the prefix; the tag rules are unchanged', () => {
    const d = parseDefinition(
      FILE,
      withImages(
        '- source: "bitnami/redis:7.2.4"',
        '  target: "tools/redis"',
        `- source: "quay.io/a/b@sha256:${'a'.repeat(64)}"`,
        '  tag: "1.0"',
        '  target: tools/b',
      ),
      FILE_SHA,
    )
    expect(d.entries.map((e) => [e.target, e.targetPath])).toEqual([
      [{registry: 'eu.gcr.io', repository: 'kyma-project/external/tools/redis', tag: '7.2.4'}, 'tools/redis'],
      [{registry: 'eu.gcr.io', repository: 'kyma-project/external/tools/b', tag: '1.0'}, 'tools/b'],
    ])
  })

  test('entries without target: have no targetPath (the seed means what it meant)', () => {
    const d = parseDefinition(FILE, withImages('- source: "busybox:1.36"'), FILE_SHA)
    expect(d.entries[0]).not.toHaveProperty('targetPath')
    expect(d.rules).toEqual([])
  })

  test("a rename onto another entry's target tag names both lines", () => {
    expect(problemsOf(withImages('- source: "tools/redis:7"', '- source: "bitnami/redis:7"', '  target: "tools/redis"'))).toEqual([
      {
        file: FILE,
        line: 5,
        column: 11,
        message: 'eu.gcr.io/kyma-project/external/tools/redis:7 is also the target of the entry on line 3: two entries must not write the same target tag',
      },
    ])
  })

  test('an invalid path, a misspelt key and a number are each one sentence, all at once', () => {
    expect(
      problemsOf(
        withImages(
          '- source: "a/b:1"',
          '  target: "Tools/Redis"',
          '- source: "a/c:1"',
          '  traget: "x"',
          '- source: "a/d:1"',
          '  target: "/abs"',
          '- source: "a/e:1"',
          '  target: 5',
        ),
      ),
    ).toEqual([
      {file: FILE, line: 4, column: 11, message: 'invalid target reference "Tools/Redis": target must be lower case'},
      {file: FILE, line: 6, column: 3, message: 'unknown key "traget": did you mean target?'},
      {file: FILE, line: 8, column: 11, message: 'invalid target reference "/abs": target must not start with "/"'},
      {file: FILE, line: 10, column: 11, message: 'target must be a string, got the number 5: quote it ("5") so YAML keeps it as written'},
    ])
  })
})

describe('tags: rules', () => {
  test('a rule is kept apart from the entries, with its target repository and position', () => {
    const d = parseDefinition(
      FILE,
      withImages(
        '- source: "busybox:1.36"',
        '- source: bitnami/redis',
        '  tags: {semver: ">=7.2 <8", exclude: ["*-debian-11-*"], latest: 3}',
        '  target: tools/redis',
        '  amd64Only: true',
      ),
      FILE_SHA,
    )
    expect(d.entries).toHaveLength(1)
    expect(d.rules).toHaveLength(1)
    const rule = d.rules[0]!
    expect(rule).toMatchObject({
      source: 'bitnami/redis',
      line: 4,
      column: 11,
      targetPath: 'tools/redis',
      selection: {kind: 'platform', platform: 'linux/amd64'},
    })
    expect(rule.targetRepository).toEqual({registry: 'eu.gcr.io', repository: 'kyma-project/external/tools/redis'})
    expect(rule.rule.spec).toEqual({semver: '>=7.2 <8', exclude: ['*-debian-11-*'], latest: 3})
    expect(rule.rule.maxTags).toBe(100)
  })

  test("without a rename, the rule's repository is named like its tags would be", () => {
    const d = parseDefinition(FILE, withImages('- source: quay.io/prometheus/node-exporter', "  tags: {regex: 'v1\\.[89]\\.\\d+'}"), FILE_SHA)
    expect(d.rules[0]!.targetRepository).toEqual({registry: 'eu.gcr.io', repository: 'kyma-project/external/quay.io/prometheus/node-exporter'})
  })

  test('every problem of the new keys at once, with did-you-mean for keys and values', () => {
    expect(
      problemsOf(
        withImages(
          '- source: bitnami/redis', //                                        3
          '  tags: {semvr: ">=7", latest: 0}', //                               4
          '- source: bitnami/redis:7', //                                      5
          '  tags: {semver: ">>7", regex: "(x"}', //                           6
          '- source: bitnami/redis', //                                        7
          '  tag: "7"', //                                                     8
          '  tags: {exclude: ["*"]}', //                                       9
          '- source: bitnami/redis', //                                        10
          '  tags: {all: yes, maxTags: 1.5}', //                               11
          '- source: bitnami/redis', //                                        12
          '- source: bitnami/redis', //                                        13
          '  tags: {all: false}', //                                            14
        ),
      ),
    ).toEqual([
      {file: FILE, line: 4, column: 10, message: 'unknown key "semvr": did you mean semver?'},
      {file: FILE, line: 4, column: 32, message: 'latest must be at least 1, got 0'},
      {file: FILE, line: 5, column: 11, message: 'source bitnami/redis:7 names a tag, but tags: selects the tags: write the repository alone'},
      {file: FILE, line: 6, column: 18, message: 'tags.semver is not a version range: ">>7" is not a comparator (write e.g. >=1.2, <2, ^1.8, ~1.8.2, 1.x)'},
      {file: FILE, line: 6, column: 32, message: expect.stringContaining('tags.regex is not a valid regular expression') as never},
      {file: FILE, line: 8, column: 8, message: "tag: cannot be combined with tags: (a rule keeps each selected tag's name at the target)"},
      {file: FILE, line: 9, column: 9, message: 'tags needs at least one selector: semver, regex, latest or all'},
      {file: FILE, line: 11, column: 15, message: 'all must be true or false, got "yes"'},
      {file: FILE, line: 11, column: 29, message: 'maxTags must be a whole number, got 1.5'},
      {
        file: FILE,
        line: 12,
        column: 11,
        message: 'source bitnami/redis has neither a tag nor a digest: write the tag to mirror (e.g. bitnami/redis:1.0), or a tags: rule',
      },
      {file: FILE, line: 14, column: 15, message: 'tags.all: false selects nothing: leave it out'},
    ])
  })
})
