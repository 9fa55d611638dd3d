/**
 * Where a mirrored image goes. The organisation's registry holds every source under one `targetRepoPrefix`
 * (e.g. `eu.gcr.io/kyma-project/external/`), and the source's own name is appended in a way that keeps
 * sources from different registries apart and is always a valid repository name:
 *
 * - Docker Hub sources append their repository: `cypress/included` → `<prefix>cypress/included`, and
 *   official images keep `library/` (`busybox` → `<prefix>library/busybox`), so every spelling of a Hub
 *   image maps to one target.
 * - Other registries append their host as the first component: `quay.io/prometheus/node-exporter` →
 *   `<prefix>quay.io/prometheus/node-exporter`.
 * - A host's port is joined with `-` because `:` cannot appear in a path (`localhost:5000/foo` →
 *   `<prefix>localhost-5000/foo`). This can coincide with a real host called `localhost-5000`; we accept
 *   that, as mirroring one registry under two names is far-fetched.
 * - An IPv6 host is written as its eight groups, leading zeros dropped, joined with `_`, then `-port`
 *   (`[::1]:5000` → `0_0_0_0_0_0_0_1-5000`). The full form avoids the empty groups of `::`, which would
 *   make an invalid component, and `_` cannot occur in a DNS host name, so it never collides with one.
 */
import {BadReferenceError} from './errors.ts'
import {isDockerHub, looksLikeHost, parseRegistry} from './host.ts'
import {formatReference, NAME_MAX_LENGTH, parseReference, type Reference, repositoryProblem, tagProblem} from './reference.ts'
import {abbreviate, MAX_REFERENCE_CHARS} from './text.ts'

/** A parsed `targetRepoPrefix`: the registry to push to and the path every target repository starts with. */
export interface TargetPrefix {
  /** Normalised `host[:port]`, as in `Reference.registry`; LAYOUT_REGISTRY for an `oci:` prefix. */
  readonly registry: string
  /** `''` or a valid path ending in `/`, e.g. `kyma-project/external/`. */
  readonly pathPrefix: string
  /** `oci:DIR/`: the directory (as given, ending in `/`) under which each target repository is a layout. */
  readonly layoutDir?: string
}

/**
 * The registry part of targets under an `oci:DIR/` prefix: `.invalid` is reserved (RFC 2606), so no real
 * registry is ever called that, and the naming rules, plan checks and credentials (target-only ones go to it,
 * i.e. nowhere) work unchanged. The stores map it to DIR.
 */
export const LAYOUT_REGISTRY = 'oci-layout.invalid'
const LAYOUT_SCHEME = 'oci:'

/** The prefix as plans record it: `host/path/`, or `oci:DIR/` as given with its trailing `/`. */
export function formatTargetPrefix(prefix: TargetPrefix): string {
  return prefix.layoutDir !== undefined ? `${LAYOUT_SCHEME}${prefix.layoutDir}` : `${prefix.registry}/${prefix.pathPrefix}`
}

/** `oci:DIR` → `DIR/` (relative to the working directory); null for anything else. Exported for --mirror. */
export function layoutDirOf(text: string): string | null {
  if (!text.startsWith(LAYOUT_SCHEME)) return null
  const dir = text.slice(LAYOUT_SCHEME.length)
  if (dir === '' || /[\u0000-\u001f]/.test(dir))
    throw new BadReferenceError(text, 'an oci: prefix names a directory: oci:DIR/ (e.g. oci:./mirror/)', 'target prefix')
  return dir.endsWith('/') ? dir : `${dir}/`
}

/**
 * Parses a `targetRepoPrefix`. Its first component must be a registry host (contain `.` or `:` or be
 * `localhost`): a prefix is always pushed somewhere explicit, never to an implied Docker Hub. The rest is
 * an optional path, validated like a repository path. A missing trailing `/` is added
 * (`eu.gcr.io/team` means `eu.gcr.io/team/`), since a prefix that glued itself onto the first component
 * (`teamquay.io/…`) is never what anyone meant. Tags and digests are rejected.
 */
export function parseTargetPrefix(prefix: string): TargetPrefix {
  const fail = (reason: string): never => {
    throw new BadReferenceError(prefix, reason, 'target prefix')
  }
  if (prefix === '') fail('target prefix is empty')
  const layoutDir = layoutDirOf(prefix)
  if (layoutDir !== null) return {registry: LAYOUT_REGISTRY, pathPrefix: '', layoutDir}
  if (/\s/.test(prefix)) fail('target prefix must not contain whitespace')
  if (prefix.includes('@')) fail('a target prefix must not contain a digest')

  const slash = prefix.indexOf('/')
  const host = slash === -1 ? prefix : prefix.slice(0, slash)
  if (!looksLikeHost(host)) {
    fail(`target prefix must start with a registry host (containing "." or ":", or "localhost"), not "${abbreviate(host, MAX_REFERENCE_CHARS)}"`)
  }
  const parsed = parseRegistry(host)
  if (!parsed.ok) return fail(parsed.reason)

  if (prefix.includes('//')) fail('target prefix must not contain an empty path component ("//")')
  let path = slash === -1 ? '' : prefix.slice(slash + 1)
  if (path.endsWith('/')) path = path.slice(0, -1)
  if (path !== '') {
    if (path.includes(':')) fail('a target prefix must not contain a tag')
    const problem = repositoryProblem(path, 'path prefix')
    if (problem !== null) fail(problem)
  }
  const pathPrefix = path === '' ? '' : `${path}/`
  // The shortest possible target appends one character; if even that is too long, say so now.
  const shortest = parsed.registry.length + 1 + pathPrefix.length + 1
  if (shortest > NAME_MAX_LENGTH) {
    fail(`target prefix leaves no room for a repository name within ${NAME_MAX_LENGTH} characters`)
  }
  return {registry: parsed.registry, pathPrefix}
}

/**
 * The target of mirroring `source` under `prefix`, tagged `tag` and without a digest (the digest is
 * whatever the copy produces, checked elsewhere). See the file comment for the naming rules. The result
 * is validated as a reference, so a name that grows too long fails here, not at push time.
 */
export function targetReference(prefix: string, source: Reference, tag: string): Reference {
  const {registry, pathPrefix} = parseTargetPrefix(prefix)
  const tagIssue = tagProblem(tag)
  if (tagIssue !== null) throw new BadReferenceError(tag, tagIssue, 'tag')
  const text = `${registry}/${pathPrefix}${mirroredPath(source)}:${tag}`
  try {
    const target = parseReference(text)
    return {registry: target.registry, repository: target.repository, tag}
  } catch (error) {
    if (!(error instanceof BadReferenceError)) throw error
    const reason = `${error.reason} (target of ${formatReference(source)} under "${abbreviate(prefix, MAX_REFERENCE_CHARS)}")`
    throw new BadReferenceError(text, reason, 'target reference', {cause: error})
  }
}

/**
 * The target of an entry renamed with `target: PATH`: `PATH` replaces the mirrored name under the prefix. The
 * path is checked as a repository path first, so it can only ever name a repository under the prefix.
 */
export function renamedTarget(prefix: string, path: string, tag: string): Reference {
  const problem = repositoryProblem(path, 'target')
  if (problem !== null) throw new BadReferenceError(path, problem, 'target reference')
  const {registry, pathPrefix} = parseTargetPrefix(prefix)
  const tagIssue = tagProblem(tag)
  if (tagIssue !== null) throw new BadReferenceError(tag, tagIssue, 'tag')
  const text = `${registry}/${pathPrefix}${path}:${tag}`
  try {
    const target = parseReference(text)
    return {registry: target.registry, repository: target.repository, tag}
  } catch (error) {
    if (!(error instanceof BadReferenceError)) throw error
    throw new BadReferenceError(text, `${error.reason} (target ${path} under "${abbreviate(prefix, MAX_REFERENCE_CHARS)}")`, 'target reference', {cause: error})
  }
}

/** The part of a target repository that names the source: see the file comment. */
export function mirroredPath(source: Reference): string {
  if (isDockerHub(source.registry)) {
    return source.repository.includes('/') ? source.repository : `library/${source.repository}`
  }
  return `${registryPathComponent(source.registry)}/${source.repository}`
}

/**
 * A registry `host[:port]` as one valid path component: lower case, `:port` → `-port`, IPv6 expanded with
 * `_` between groups (`[fe80::1]:5000` → `fe80_0_0_0_0_0_0_1-5000`).
 */
export function registryPathComponent(registry: string): string {
  const lower = registry.toLowerCase()
  if (!lower.startsWith('[')) return lower.replace(':', '-')
  const close = lower.indexOf(']')
  const groups = expandIpv6(lower.slice(1, close === -1 ? undefined : close)).join('_')
  const port = close === -1 ? '' : lower.slice(close + 1).replace(/^:/, '')
  return port === '' ? groups : `${groups}-${port}`
}

/** The eight groups of an IPv6 address, `::` filled with zeros and leading zeros dropped (`0db8` → `db8`). */
function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0')
  return [...headGroups, ...zeros, ...tailGroups].map((group) => group.replace(/^0+(?=.)/, ''))
}
