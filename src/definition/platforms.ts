/**
 * `platforms:` and `amd64Only:` as a selection: the whole image, one platform's manifest, or a subset index.
 * An entry's `platforms` wins over the file's; `amd64Only: true` is `platforms: [linux/amd64]`, and setting
 * both on one entry is refused rather than guessed.
 */
import {parsePlatform} from '../oci/platform.ts'
import {suggest} from './suggest.ts'

/**
 * What of the source an entry copies; `platform` is one platform's manifest alone, `platforms` a new index.
 * `from` says who asked: the file's default does not apply to an artifact (it has no platforms), the entry's does.
 */
export type SelectionOrigin = 'entry' | 'file'
export type Selection =
  | {kind: 'whole'}
  | {kind: 'platform'; platform: string; from: SelectionOrigin}
  | {kind: 'platforms'; platforms: string[]; from: SelectionOrigin}

/** Platforms people mirror, for "did you mean" on a misspelt one. */
const COMMON_PLATFORMS = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm64/v8',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64',
  'windows/amd64',
]

/**
 * The image spec's values are Go's GOOS and GOARCH: a name outside them is a typo (`linux/amd46`) that would
 * otherwise surface only at plan time, as a platform no index offers.
 */
const GOOS = ['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'illumos', 'ios', 'js', 'linux', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows']
const GOARCH = ['386', 'amd64', 'arm', 'arm64', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'ppc64', 'ppc64le', 'riscv64', 's390x', 'wasm']

type Report = (path: (string | number)[], message: string) => void

/** What is wrong with a `platforms` list at `path` (a wrong platform string, a repeated one), reported each. */
export function platformProblems(platforms: readonly string[], path: (string | number)[], problem: Report): boolean {
  let ok = true
  platforms.forEach((text, j) => {
    const platform = parsePlatform(text)
    if (platform === null || !GOOS.includes(platform.os) || !GOARCH.includes(platform.architecture)) {
      const hint = suggest(text, COMMON_PLATFORMS)
      problem(
        [...path, j],
        `platforms: ${JSON.stringify(text)} is not a platform: write os/arch or os/arch/variant as Go names them (e.g. linux/arm64, linux/arm/v7)${hint ? `: did you mean ${hint}?` : ''}`,
      )
      ok = false
    } else if (platforms.indexOf(text) !== j) {
      problem([...path, j], `platforms lists ${text} twice`)
      ok = false
    }
  })
  return ok
}

/**
 * The entry's selection from its keys and the file's `platforms` (already checked); null after reporting a
 * problem. `here(key)` is where the entry's key is.
 */
export function entrySelection(
  image: {amd64Only?: boolean; platforms?: string[]},
  global: string[] | undefined,
  here: (key: string) => (string | number)[],
  problem: Report,
): Selection | null {
  if (image.amd64Only === true && image.platforms !== undefined) {
    problem(here('platforms'), 'amd64Only and platforms are both set: amd64Only means platforms: [linux/amd64], keep one of them')
    return null
  }
  if (image.platforms !== undefined && !platformProblems(image.platforms, here('platforms'), problem)) return null
  const own = image.platforms ?? (image.amd64Only === true ? ['linux/amd64'] : undefined)
  const platforms = own ?? global
  if (platforms === undefined) return {kind: 'whole'}
  const from: SelectionOrigin = own !== undefined ? 'entry' : 'file'
  return platforms.length === 1 ? {kind: 'platform', platform: platforms[0]!, from} : {kind: 'platforms', platforms, from}
}
