import {describe, expect, test} from 'bun:test'
import {largePlan} from '../../test/support/large-plan.ts'
import {annotation, boundedSummary, escapeData, escapeProperty, githubActionsFrom, planSummary, STEP_SUMMARY_MAX_BYTES} from './github.ts'

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

describe('step summary size', () => {
  test('a 10,000-entry plan fits in 1 MiB: its rows are cut, saying how many and naming the plan file', () => {
    const text = planSummary(largePlan({count: 10_000, repositories: 200}), 'plans/many.plan.json')
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(STEP_SUMMARY_MAX_BYTES)
    expect(text).toStartWith('### image-syncer plan\n\nPlan: ')
    expect(text).toMatch(
      /\*\*\d+ of 10000 entries are not shown here\*\* \(a GitHub step summary holds at most 1 MiB\): every entry is in the plan file `plans\/many\.plan\.json`\.\n\n$/,
    )
  })

  test('any other summary is cut at a line, its code block closed, with the number of lines left out', () => {
    const lines = Array.from({length: 1000}, (_, i) => `row ${i} ${'x'.repeat(90)}`)
    const text = boundedSummary(`### image-syncer apply\n\n\`\`\`text\n${lines.join('\n')}\n\`\`\`\n`, 20_000)
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(20_000)
    const kept = text.split('\n').filter((l) => l.startsWith('row ')).length
    expect(
      text.endsWith(
        `\n\`\`\`\n\n**${1000 - kept + 2} more lines are not shown here** (a GitHub step summary holds at most 1 MiB): the job log has all of them.\n`,
      ),
    ).toBe(true)
  })

  test('a summary under the limit is left as it is', () => {
    expect(boundedSummary('### x\n\nsmall\n')).toBe('### x\n\nsmall\n')
  })
})
