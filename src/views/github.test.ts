import {describe, expect, test} from 'bun:test'
import {annotation, escapeData, escapeProperty, githubActionsFrom} from './github.ts'

describe('workflow commands', () => {
  test('data escapes %, CR and LF; properties also : and ,', () => {
    expect(escapeData('100% done\r\nnext: a,b')).toBe('100%25 done%0D%0Anext: a,b')
    expect(escapeProperty('C:\\a,b%\n')).toBe('C%3A\\a%2Cb%25%0A')
  })

  test('an annotation is one line, whatever the message holds: no second command can be injected', () => {
    const line = annotation('bad\n::warning::owned', {file: 'defs/a,b.yaml', line: 3, col: 11, title: 'image-syncer: x'})
    expect(line).toBe('::error file=defs/a%2Cb.yaml,line=3,col=11,title=image-syncer%3A x::bad%0A::warning::owned\n')
    expect(line.trimEnd().split('\n')).toHaveLength(1)
    expect(annotation('plain')).toBe('::error::plain\n')
  })

  test('only GITHUB_ACTIONS=true turns it on; the summary file is optional', () => {
    expect(githubActionsFrom({})).toBeNull()
    expect(githubActionsFrom({GITHUB_ACTIONS: 'false', GITHUB_STEP_SUMMARY: '/x'})).toBeNull()
    expect(githubActionsFrom({GITHUB_ACTIONS: 'true'})).toEqual({stepSummary: null})
    expect(githubActionsFrom({GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: '/s'})).toEqual({stepSummary: '/s'})
  })
})
