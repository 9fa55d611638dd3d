/**
 * `platforms:` and `amd64Only:` as a selection: the whole image, one platform's manifest, or a subset index.
 * An entry's `platforms` wins over the file's; `amd64Only: true` is `platforms: [linux/amd64]`, and setting
 * both on one entry is refused rather than guessed.
 */
import {parsePlatform} from '../oci/platform.ts'
import {suggest} from './suggest.ts'

/** What of the source an entry copies; `platform` is one platform's manifest alone, `platforms` a new index. */
export type Selection = {kind: 'whole'} | {kind: 'platform'; platform: string} | {kind: 'platforms'; platforms: string[]}

/** Platforms people mirror, for "did you mean" on a misspelt one. */
const COMMON_PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm64/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/386', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64', 'windows/amd64']

type Report = (path: (string | number)[], message: string) => void

/** What is wrong with a `platforms` list at `path` (a wrong platform string, a repeated one), reported each. */
export function platformProblems(platforms: readonly string[], path: (string | number)[], problem: Report): boolean {
  let ok = true
  platforms.forEach((text, j) => {
    if (parsePlatform(text) === null) {
      const hint = suggest(text, COMMON_PLATFORMS)
      problem([...path, j], `platforms: ${JSON.stringify(text)} is not a platform written os/arch or os/arch/variant (e.g. linux/arm64, linux/arm/v7)${hint ? `: did you mean ${hint}?` : ''}`)
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
export function entrySelection(image: {amd64Only?: boolean; platforms?: string[]}, global: string[] | undefined, here: (key: string) => (string | number)[], problem: Report): Selection | null {
  if (image.amd64Only === true && image.platforms !== undefined) {
    problem(here('platforms'), 'amd64Only and platforms are both set: amd64Only means platforms: [linux/amd64], keep one of them')
    return null
  }
  if (image.platforms !== undefined && !platformProblems(image.platforms, here('platforms'), problem)) return null
  const platforms = image.platforms ?? (image.amd64Only === true ? ['linux/amd64'] : global)
  if (platforms === undefined) return {kind: 'whole'}
  return platforms.length === 1 ? {kind: 'platform', platform: platforms[0]!} : {kind: 'platforms', platforms}
}
