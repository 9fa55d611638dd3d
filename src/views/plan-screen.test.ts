import {describe, expect, test} from 'bun:test'
import type {PlanEntry} from '../plan/model.ts'
import {planOf} from '../../test/support/plans.ts'
import {renderPlanScreen} from './plan-screen.ts'
import {shortDigestsIn, widthOf} from './screen.ts'

const D = (c: string) => `sha256:${c.repeat(64)}`
const SHORT = (c: string) => `sha256:${c.repeat(12)}`
const PREFIX = '127.0.0.1:15002/external/'
const KEY = D('9')

function entry(
  source: string,
  target: string,
  action: PlanEntry['action'],
  digest: string,
  platforms: string[],
  status: 'unsigned' | 'failed' = 'unsigned',
): PlanEntry {
  return {
    source,
    sourceRepository: `docker.io/${source.split(/[:@]/)[0]}`,
    sourceDigest: digest,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    platforms,
    selection: {kind: 'whole'},
    target: `${PREFIX}${target}`,
    action,
    targetDigest: action === 'to-copy' ? null : action === 'already-present' ? digest : D('f'),
    signature: {
      policy: {
        verify: status === 'failed' ? 'required' : 'if-present',
        keys: status === 'failed' ? [{fingerprint: KEY, pem: ''}] : [],
        identities: [],
        trustedRoot: {kind: 'public-good'},
        copy: true,
        sign: null,
        attestations: [],
      },
      status,
      signers: [],
      found: status === 'failed' ? 2 : 0,
      reasons: status === 'failed' ? ['signature 1: not signed by any of the keys', 'signature 2: not signed by any of the keys'] : [],
      attestations: [],
    },
  }
}

/** Names of the lengths real plans have (the postgresql), short enough for a 60-column block line. */
const PLAN = planOf(PREFIX, [
  entry('bitnami/postgresql:16.4.0-debian-12-r1', 'bitnami/postgresql:16.4.0-debian-12-r1', 'to-copy', D('a'), ['linux/amd64', 'linux/arm64']),
  entry(`busybox@${D('b')}`, 'library/busybox:1.32.0-v1', 'already-present', D('b'), ['linux/amd64', 'linux/arm/v7', 'linux/arm64/v8']),
  entry('bitnami/postgres-exporter:0.11.1-r69', 'bitnami/postgres-exporter:0.11.1-r69', 'conflicting-ID', D('c'), ['linux/amd64']),
  entry('acme/app:1.0', 'acme/app:1.0', 'to-copy', D('d'), ['linux/amd64'], 'failed'),
  entry('cypress/included:9.5.0', 'cypress/included:9.5.0', 'to-copy', D('e'), []),
])

/** What each entry's line starts with, and the word its group's heading names. */
function expected(e: PlanEntry): {symbol: string; action: string} {
  if (e.action === 'conflicting-ID') return {symbol: '!', action: 'conflicting-ID'}
  if (e.signature.status === 'failed') return {symbol: 'x', action: 'signature check failed'}
  return e.action === 'to-copy' ? {symbol: '+', action: 'to-copy'} : {symbol: '=', action: 'already-present'}
}

describe.each([60, 80, 120, 200])('a plan on a %d-column terminal', (width) => {
  const text = renderPlanScreen(PLAN, {width, colour: 'none'}, 'list')
  const lines = text.split('\n')

  test('no line is wider than the terminal', () => {
    for (const line of lines) expect(widthOf(line), line).toBeLessThanOrEqual(width)
  })

  test('says the target prefix once, then every entry: its source, relative target, action and short digest', () => {
    expect(lines[0]).toStartWith(`Into ${PREFIX}`)
    expect(text.split(PREFIX)).toHaveLength(2)
    for (const e of PLAN.entries) {
      const target = e.target.slice(PREFIX.length)
      const {symbol, action} = expected(e)
      const at = lines.findIndex((line) => line.startsWith(`  ${symbol} ${target}`))
      expect(at, `${target} at ${width}`).toBeGreaterThan(0)
      // Its group's heading is the nearest line above that starts with the symbol in the first column.
      expect(lines.slice(0, at).findLast((line) => line.startsWith(`${symbol} `))).toStartWith(`${symbol} ${action}: `)
      expect(text).toContain(shortDigestsIn(e.source))
      expect(text).toContain(SHORT(e.sourceDigest.slice(7, 8)))
    }
  })

  test('a conflict names both digests and what to do; a failed check the policy and what was found', () => {
    expect(text).toContain(SHORT('f'))
    expect(text.replace(/\s+/g, ' ')).toContain('remove the target tag by hand')
    expect(text).toContain(`required, by key ${SHORT('9')}`)
    expect(text.replace(/\s+/g, ' ')).toContain('2 signatures, none by a signer of the policy')
    expect(text.replace(/\s+/g, ' ')).toContain('signature 2: not signed by any of the keys')
  })

  test('ends with the summary line, and has no colour without a colour terminal', () => {
    expect(text.replace(/\n(?!$)/g, ' ')).toEndWith('Plan: 3 to copy, 1 already present, 1 conflicting. 1 signature failure.\n')
    expect(text).not.toContain('\x1b')
  })
})

describe('the plan screen', () => {
  test('tables where they fit, blocks where they do not', () => {
    expect(renderPlanScreen(PLAN, {width: 200, colour: 'none'}, 'list')).toContain('    Target ')
    expect(renderPlanScreen(PLAN, {width: 80, colour: 'none'}, 'list')).toContain('      source    = bitnami/postgresql:16.4.0-debian-12-r1\n')
  })

  test('already-present entries are folded into a count unless listed', () => {
    const folded = renderPlanScreen(PLAN, {width: 80, colour: 'none'}, 'fold')
    expect(folded).toContain('= already-present: 1 entry, left as they are (--show-present lists them)\n')
    expect(folded).not.toContain('library/busybox')
  })

  test('a name too long for its line is shortened in the middle, its tag kept whole', () => {
    const long = planOf(PREFIX, [entry(`${'a'.repeat(40)}${'/b'.repeat(20)}:16.4.0-debian-12-r1`, 'x/y:1', 'to-copy', D('a'), ['linux/amd64'])])
    const text = renderPlanScreen(long, {width: 60, colour: 'none'}, 'fold')
    const source = text.split('\n').find((line) => line.includes('source'))!
    expect(source).toEndWith(':16.4.0-debian-12-r1')
    expect(source).toContain('…')
    expect(widthOf(source)).toBeLessThanOrEqual(60)
  })

  test('colour marks the symbols on a colour terminal, and costs no width', () => {
    const text = renderPlanScreen(PLAN, {width: 60, colour: 'ansi'}, 'list')
    expect(text).toContain('\x1b[32m+\x1b[0m')
    expect(text).toContain('\x1b[31m!\x1b[0m')
    for (const line of text.split('\n')) expect(widthOf(line.replace(/\x1b\[\d+m/g, ''))).toBeLessThanOrEqual(60)
  })

  test('recorded text cannot drive the terminal', () => {
    const hostile = planOf(PREFIX, [entry('acme/app:1\x1b[2J', 'acme/app:1', 'to-copy', D('a'), ['linux/amd64'], 'failed')])
    const text = renderPlanScreen(hostile, {width: 80, colour: 'none'}, 'fold')
    expect(text).toContain('acme/app:1\\x1b[2J')
    expect(text).not.toContain('\x1b')
  })
})
