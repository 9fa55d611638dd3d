/**
 * Version tags and version ranges, for `tags: {semver: …}`. Written here rather than taken from `semver` on
 * npm because registry tags are not semver: `7.2.4-debian-12-r0` is Bitnami's build of 7.2.4, not a
 * prerelease of it, and node-semver would order it below 7.2.4 and keep it out of every range.
 *
 * The rule (the README documents it): a version tag is `[v]MAJOR.MINOR.PATCH`, optionally followed by `-` or `+`
 * and a suffix. A suffix that starts with a prerelease word (alpha, beta, rc, pre, preview, dev, snapshot,
 * nightly, canary) makes the tag a prerelease, which ranges never select; any other suffix (`-debian-12-r0`,
 * `-alpine`) labels a build of that version, which ranges judge by its numbers. Floating tags such as `7` or
 * `7.2` are not versions: select them with `regex`.
 */
import {abbreviate} from '../ref/text.ts'

export interface Version {
  readonly numbers: readonly [number, number, number]
  readonly suffix: string
  readonly prerelease: boolean
}

const VERSION_TAG = /^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:[-+](.+))?$/
const PRERELEASE = /^(?:alpha|beta|rc|preview|pre|dev|snapshot|nightly|canary)(?![a-z])/i

export function parseVersionTag(tag: string): Version | null {
  const m = VERSION_TAG.exec(tag)
  if (!m) return null
  const suffix = m[4] ?? ''
  return {numbers: [Number(m[1]), Number(m[2]), Number(m[3])], suffix, prerelease: PRERELEASE.test(suffix)}
}

/** Numbers first, a prerelease below its release, then suffixes in natural order (`-r9` below `-r10`). */
export function compareVersions(a: Version, b: Version): number {
  const byNumbers = compareNumbers(a.numbers, b.numbers)
  if (byNumbers !== 0) return byNumbers
  if (a.prerelease !== b.prerelease) return a.prerelease ? -1 : 1
  return a.suffix.localeCompare(b.suffix, 'en', {numeric: true})
}

type Triple = readonly [number, number, number]
type Operator = '<' | '<=' | '>' | '>=' | '='
interface Comparator {
  readonly op: Operator
  readonly version: Triple
}
/** Sets joined by `||`; every comparator of a set must hold. */
export type Range = readonly (readonly Comparator[])[]

export type ParsedRange = {kind: 'range'; range: Range} | {kind: 'invalid'; reason: string}

/** Parses a range such as `>=7.2 <8`, `^1.8`, `~1.8.2 || 2.x`; an invalid one says what is wrong. */
export function parseRange(text: string): ParsedRange {
  const range: Comparator[][] = []
  for (const alternative of text.split('||')) {
    const set = alternative.trim().replace(/([<>=^~]+)\s+/g, '$1')
    if (set === '') return {kind: 'invalid', reason: 'an alternative around "||" is empty'}
    const comparators: Comparator[] = []
    for (const token of set.split(/\s+/)) {
      const parsed = parseComparator(token)
      if (typeof parsed === 'string') return {kind: 'invalid', reason: parsed}
      comparators.push(...parsed)
    }
    range.push(comparators)
  }
  return {kind: 'range', range}
}

const COMPARATOR = /^(<=|>=|<|>|=|\^|~)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/

/** The comparators `token` stands for, or why it is not one. */
function parseComparator(token: string): Comparator[] | string {
  const m = COMPARATOR.exec(token)
  if (!m) return `"${abbreviate(token)}" is not a comparator (write e.g. >=1.2, <2, ^1.8, ~1.8.2, 1.x)`
  const op = m[1] ?? '='
  // A wildcard ends the version: `1.x.3` means `1.x`.
  const parts: number[] = []
  for (const part of [m[2], m[3], m[4]]) {
    if (part === undefined || /^[xX*]$/.test(part)) break
    parts.push(Number(part))
  }
  if (parts.some((n) => !Number.isSafeInteger(n))) return `"${abbreviate(token)}" has a number too large`
  const full = (p: number[]): Triple => [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0]
  // The next version above the given prefix: `1.2` → 1.3.0, `1` → 2.0.0.
  const above = (p: number[]): Triple => (p.length === 1 ? [p[0]! + 1, 0, 0] : p.length === 2 ? [p[0]!, p[1]! + 1, 0] : [p[0]!, p[1]!, p[2]! + 1])
  if (parts.length === 0) return op === '<' || op === '>' ? [{op: '<', version: [0, 0, 0]}] : []
  switch (op) {
    case '=':
      return parts.length === 3
        ? [{op: '=', version: full(parts)}]
        : [
            {op: '>=', version: full(parts)},
            {op: '<', version: above(parts)},
          ]
    case '>=':
    case '<':
      return [{op, version: full(parts)}]
    case '>':
      return parts.length === 3 ? [{op: '>', version: full(parts)}] : [{op: '>=', version: above(parts)}]
    case '<=':
      return parts.length === 3 ? [{op: '<=', version: full(parts)}] : [{op: '<', version: above(parts)}]
    case '~':
      return [
        {op: '>=', version: full(parts)},
        {op: '<', version: above(parts.slice(0, Math.min(parts.length, 2)))},
      ]
    default: {
      // `^`: changes that do not modify the left-most non-zero number.
      const v = full(parts)
      const upper: Triple = v[0] > 0 || parts.length === 1 ? [v[0] + 1, 0, 0] : v[1] > 0 || parts.length === 2 ? [0, v[1] + 1, 0] : [0, 0, v[2] + 1]
      return [
        {op: '>=', version: v},
        {op: '<', version: upper},
      ]
    }
  }
}

/** Whether a version tag is in the range: prereleases never are, suffixes do not count. */
export function satisfies(version: Version, range: Range): boolean {
  if (version.prerelease) return false
  return range.some((set) => set.every(({op, version: bound}) => holds(op, compareNumbers(version.numbers, bound))))
}

function holds(op: Operator, order: number): boolean {
  if (op === '=') return order === 0
  if (op === '<') return order < 0
  if (op === '<=') return order <= 0
  if (op === '>') return order > 0
  return order >= 0
}

function compareNumbers(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}
