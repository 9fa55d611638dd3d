/**
 * Image references (`[registry/]repository[:tag][@digest]`), parsed with the Docker grammar of
 * distribution/reference and normalised so that every spelling of one image formats to one string:
 * `busybox`, `docker.io/busybox` and `index.docker.io/library/busybox` are all
 * `docker.io/library/busybox`. This is what the plan compares and what error messages show, so it must be
 * canonical. Pure: no I/O, no defaults beyond Docker Hub's.
 */
import {type Digest, digestProblem} from './digest.ts'
import {BadReferenceError} from './errors.ts'
import {DOCKER_HUB, isDockerHub, looksLikeHost, parseRegistry} from './host.ts'
import {abbreviate, MAX_REFERENCE_CHARS} from './text.ts'

export {BadReferenceError} from './errors.ts'
export {DOCKER_HUB, isDockerHub} from './host.ts'

/** A parsed, normalised reference. Build one with `parseReference`, not by hand, so it is known valid. */
export interface Reference {
  /** Normalised `host[:port]`, lower case; `docker.io` for Docker Hub under any alias. */
  readonly registry: string
  /** The path inside the registry; a one-component Docker Hub path gets `library/` (`library/busybox`). */
  readonly repository: string
  readonly tag?: string
  readonly digest?: Digest
}

/**
 * Maximum length of `registry/repository`. distribution/reference now limits only the path, but the OCI
 * distribution spec notes that many clients limit the whole `host[:port]/name` to 255 characters; we
 * create names in other people's registries, so we keep to the stricter, portable rule.
 */
export const NAME_MAX_LENGTH = 255

/** Maximum tag length, from the tag grammar `[\w][\w.-]{0,127}`. */
const TAG_MAX_LENGTH = 128

/** One path component: lower-case alphanumerics joined by `.`, `_`, `__` or a run of `-`. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^\w[\w.-]{0,127}$/

/**
 * Parses a reference as `docker pull` would, and normalises it (see the file comment). Tag and digest may
 * both be present (`name:tag@sha256:…`); both are kept, the digest being what identifies the content.
 * Throws `BadReferenceError` with a one-sentence reason for anything that does not match the grammar.
 */
export function parseReference(input: string): Reference {
  const fail = (reason: string): never => {
    throw new BadReferenceError(input, reason)
  }
  if (input === '') fail('reference is empty')
  if (/\s/.test(input)) fail('reference must not contain whitespace')

  let rest = input
  let digest: Digest | undefined
  const at = input.indexOf('@')
  if (at !== -1) {
    const value = input.slice(at + 1)
    rest = input.slice(0, at)
    if (value === '') fail('digest after "@" is empty')
    if (value.includes('@')) fail('reference must contain at most one "@"')
    const problem = digestProblem(value)
    if (problem !== null) fail(problem)
    digest = value as Digest
  }

  // A tag is whatever follows a ':' that comes after the last '/'; earlier colons belong to a host:port.
  let name = rest
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    name = rest.slice(0, colon)
    const problem = tagProblem(tag)
    if (problem !== null) fail(problem)
  }
  if (name === '') fail('repository name is empty')

  const {registry, repository} = splitName(name, fail)
  // Absent parts are left out rather than set to undefined, so references compare and serialise cleanly.
  const ref: {registry: string; repository: string; tag?: string; digest?: Digest} = {registry, repository}
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  return ref
}

/**
 * Splits `[host/]path` into a normalised registry and repository and validates both, failing through
 * `fail` (which throws) with the first problem found.
 */
function splitName(name: string, fail: (reason: string) => never): {registry: string; repository: string} {
  // Checked on the whole name so `quay.io/` and `quay.io//x` are reported as such, not as an empty path.
  if (name.endsWith('/')) fail('repository name must not end with "/"')
  if (name.includes('//')) fail('repository name must not contain an empty path component ("//")')
  let registry = DOCKER_HUB
  let path = name
  const slash = name.indexOf('/')
  if (slash !== -1 && looksLikeHost(name.slice(0, slash))) {
    const parsed = parseRegistry(name.slice(0, slash))
    if (!parsed.ok) fail(parsed.reason)
    else registry = parsed.registry
    path = name.slice(slash + 1)
  }
  const problem = repositoryProblem(path)
  if (problem !== null) fail(problem)
  const repository = isDockerHub(registry) && !path.includes('/') ? `library/${path}` : path
  const length = registry.length + 1 + repository.length
  if (length > NAME_MAX_LENGTH) {
    fail(`name "${abbreviate(`${registry}/${repository}`, MAX_REFERENCE_CHARS)}" is ${length} characters, at most ${NAME_MAX_LENGTH} are allowed`)
  }
  return {registry, repository}
}

/**
 * Why `path` is not a repository path (without registry), in a sentence; null when it is one. `what`
 * names the thing in the sentence, so a target prefix's path gets the same rules with its own wording.
 */
export function repositoryProblem(path: string, what = 'repository name'): string | null {
  if (path === '') return `${what} is empty`
  if (path.startsWith('/')) return `${what} must not start with "/"`
  if (path.endsWith('/')) return `${what} must not end with "/"`
  if (path.includes('//')) return `${what} must not contain an empty path component ("//")`
  if (/[A-Z]/.test(path)) return `${what} must be lower case`
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      return (
        `${what} has an invalid path component "${abbreviate(component, MAX_REFERENCE_CHARS)}": use lower-case letters and digits, ` +
        'separated by ".", "_", "__" or "-"'
      )
    }
  }
  return null
}

/** Why `tag` is not a tag, in a sentence; null when it is one. Exported for config validation. */
export function tagProblem(tag: string): string | null {
  if (tag === '') return 'tag after ":" is empty'
  if (tag.length > TAG_MAX_LENGTH) return `tag must be at most ${TAG_MAX_LENGTH} characters, it has ${tag.length}`
  if (!TAG.test(tag)) {
    return `tag "${tag}" is invalid: use letters, digits, "_", "." and "-", and do not start with "." or "-"`
  }
  return null
}

/**
 * The canonical, fully-qualified string: `registry/repository[:tag][@digest]`, e.g.
 * `docker.io/library/busybox:1.0`. We never shorten Docker Hub names: a plan or log line must say exactly
 * which registry it means.
 */
export function formatReference(ref: Reference): string {
  let text = `${ref.registry}/${ref.repository}`
  if (ref.tag !== undefined) text += `:${ref.tag}`
  if (ref.digest !== undefined) text += `@${ref.digest}`
  return text
}

/** The same repository with `tag` (replacing any tag, keeping any digest). Throws on an invalid tag. */
export function withTag(ref: Reference, tag: string): Reference {
  const problem = tagProblem(tag)
  if (problem !== null) throw new BadReferenceError(tag, problem, 'tag')
  return {...ref, tag}
}

/**
 * The same repository pinned to `digest` (replacing any digest, keeping any tag), e.g. after resolving a
 * tag, so a plan entry names exactly what was observed. Throws on an invalid digest.
 */
export function withDigest(ref: Reference, digest: string): Reference {
  const problem = digestProblem(digest)
  if (problem !== null) throw new BadReferenceError(digest, problem, 'digest')
  return {...ref, digest: digest as Digest}
}
