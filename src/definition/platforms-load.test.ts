/** `platforms:` (issue 9) as the loader reads it, with amd64Only, and as it refuses it. */
import {describe, expect, test} from 'bun:test'
import type {Problem} from './errors.ts'
import {parseDefinition} from './load.ts'
import {definitionProblems} from '../../test/support/definition-problems.ts'

const problemsOf = (text: string): Problem[] => definitionProblems(() => parseDefinition(FILE, text, FILE_SHA), text)

const FILE = 'external-images.yaml'
const FILE_SHA = `sha256:${'0'.repeat(64)}`
const PREFIX = 'eu.gcr.io/kyma-project/external/'

function file(...lines: string[]): string {
  return [`targetRepoPrefix: "${PREFIX}"`, ...lines, ''].join('\n')
}

function selections(text: string) {
  const d = parseDefinition(FILE, text, FILE_SHA)
  return [...d.entries.map((e) => e.selection), ...d.rules.map((r) => r.selection)]
}

describe('platforms: selections', () => {
  test('several platforms are a subset index, one is that platform alone, amd64Only is linux/amd64, none is the whole image', () => {
    expect(
      selections(
        file(
          'images:',
          '- source: "a:1"',
          '  platforms: [linux/amd64, linux/arm64]',
          '- source: "b:1"',
          '  platforms: [linux/arm/v7]',
          '- source: "c:1"',
          '  amd64Only: true',
          '- source: "d:1"',
        ),
      ),
    ).toEqual([
      {kind: 'platforms', platforms: ['linux/amd64', 'linux/arm64'], from: 'entry'},
      {kind: 'platform', platform: 'linux/arm/v7', from: 'entry'},
      {kind: 'platform', platform: 'linux/amd64', from: 'entry'},
      {kind: 'whole'},
    ])
  })

  test("the file's platforms apply to every entry and rule; an entry's own list (or amd64Only) wins", () => {
    expect(
      selections(
        file(
          'platforms: [linux/amd64, linux/arm64]',
          'images:',
          '- source: "a:1"',
          '- source: "b:1"',
          '  platforms: [linux/s390x]',
          '- source: "c:1"',
          '  amd64Only: true',
          '- source: "d"',
          '  tags: {all: true}',
        ),
      ),
    ).toEqual([
      {kind: 'platforms', platforms: ['linux/amd64', 'linux/arm64'], from: 'file'},
      {kind: 'platform', platform: 'linux/s390x', from: 'entry'},
      {kind: 'platform', platform: 'linux/amd64', from: 'entry'},
      {kind: 'platforms', platforms: ['linux/amd64', 'linux/arm64'], from: 'file'},
    ])
  })
})

describe('platforms: problems, all at once, where they are', () => {
  test('amd64Only and platforms on one entry, a misspelt platform, a repeated one, an empty list, a global typo', () => {
    const text = file(
      'platforms: [linux/amd46]',
      'images:',
      '- source: "a:1"',
      '  amd64Only: true',
      '  platforms: [linux/arm64]',
      '- source: "b:1"',
      '  platforms: [linux/arm64, linux-amd64]',
      '- source: "c:1"',
      '  platforms: [linux/arm64, linux/arm64]',
      '- source: "d:1"',
      '  platforms: []',
    )
    expect(problemsOf(text).map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      '2:13 platforms: "linux/amd46" is not a platform: write os/arch or os/arch/variant as Go names them (e.g. linux/arm64, linux/arm/v7): did you mean linux/amd64?',
      '6:14 amd64Only and platforms are both set: amd64Only means platforms: [linux/amd64], keep one of them',
      '8:28 platforms: "linux-amd64" is not a platform: write os/arch or os/arch/variant as Go names them (e.g. linux/arm64, linux/arm/v7): did you mean linux/amd64?',
      '10:28 platforms lists linux/arm64 twice',
      '12:14 platforms must not be an empty list (leave it out to copy every platform)',
    ])
  })

  test('a misspelt key suggests platforms', () => {
    expect(problemsOf(file('images:', '- source: "a:1"', '  platfroms: [linux/amd64]'))[0]?.message).toBe('unknown key "platfroms": did you mean platforms?')
  })
})
