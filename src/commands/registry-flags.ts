/**
 * Flags every command that talks to registries shares, each readable from its SYNCER_* variable (the flag
 * wins). Multi-valued variables are comma-separated.
 */
import {Flags} from '@oclif/core'
import {DEFAULT_CERTS_DIRS} from '../registry/certs.ts'
import type {ConnectOptions} from '../registry/connect.ts'
import {layoutDirOf} from '../ref/target.ts'
import {endpointFor, parseMirrors} from '../registry/endpoints.ts'
import {DEFAULT_MAX_CONCURRENT_PER_HOST, type RateLimitWait, type RequestEvent} from '../transport/transport.ts'
import {currentIo} from './io.ts'
import {realPace} from './pace.ts'

export const registryFlags = {
  'access-token': Flags.string({
    description: 'Bearer access token for the target registry (never sent to sources).',
    env: 'SYNCER_ACCESS_TOKEN',
    helpGroup: 'REGISTRY',
  }),
  'target-repo-auth-key': Flags.string({
    description: 'JSON key file for the target registry: sent as Basic auth with username _json_key.',
    env: 'SYNCER_TARGET_REPO_AUTH_KEY',
    helpGroup: 'REGISTRY',
  }),
  'insecure-registry': Flags.string({
    description:
      'HOST[:PORT] that may be reached over plain HTTP when it does not speak TLS (loopback hosts always may). Repeatable; env SYNCER_INSECURE_REGISTRIES, comma-separated.',
    multiple: true,
    helpGroup: 'REGISTRY',
  }),
  'ca-file': Flags.string({
    description:
      'PEM file of CA certificates trusted for every registry, besides the default ones. Per-host CAs and client certificates go in certs.d (env SYNCER_CERTS_DIR). Repeatable; env SYNCER_CA_FILE, comma-separated.',
    multiple: true,
    helpGroup: 'REGISTRY',
  }),
  mirror: Flags.string({
    description:
      'HOST=URL: read sources on HOST from URL (e.g. docker.io=https://hub-cache.example), or HOST=oci:DIR/ from OCI image layouts under DIR. Repeatable; env SYNCER_MIRRORS, comma-separated.',
    multiple: true,
    helpGroup: 'REGISTRY',
  }),
  'requests-per-registry': Flags.integer({
    description: `Requests in flight per registry host at most (default ${DEFAULT_MAX_CONCURRENT_PER_HOST}); fewer while a registry throttles (429). Lower it for a small self-hosted registry.`,
    min: 1,
    max: 1024,
    env: 'SYNCER_REQUESTS_PER_REGISTRY',
    helpGroup: 'REGISTRY',
  }),
  debug: Flags.boolean({description: 'Log every registry request (method, redacted URL, status, duration) on stderr.', env: 'SYNCER_DEBUG', default: false}),
}

export interface RegistryFlagValues {
  'access-token'?: string
  'target-repo-auth-key'?: string
  'insecure-registry'?: string[]
  'ca-file'?: string[]
  mirror?: string[]
  'requests-per-registry'?: number
  debug: boolean
  /** From copyFlags, on the commands that upload. */
  'chunk-size'?: number
}

/**
 * Turns the flags into connection options, validating mirrors up front so a typo fails before any request. They
 * carry the run's pace, which every store and the copy engine wait on: the real one, unless the caller of the
 * run gave another (./io.ts).
 */
export function registryOptions(
  flags: RegistryFlagValues,
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Omit<ConnectOptions, 'targetRegistry'> {
  const insecureRegistries = flags['insecure-registry']?.length ? flags['insecure-registry'] : splitList(env.SYNCER_INSECURE_REGISTRIES)
  const mirrors = parseMirrors(flags.mirror?.length ? flags.mirror : splitList(env.SYNCER_MIRRORS))
  // `oci:DIR/` serves a registry's sources from a layout tree (checked when opened); the rest are URLs.
  for (const [registry, mirror] of Object.entries(mirrors)) if (layoutDirOf(mirror) === null) endpointFor(registry, {insecureRegistries, mirrors})
  return {
    pace: currentIo().pace ?? realPace(),
    insecureRegistries,
    mirrors,
    caFiles: flags['ca-file']?.length ? flags['ca-file'] : splitList(env.SYNCER_CA_FILE),
    // Set (even empty), SYNCER_CERTS_DIR replaces the system directories: tests and sandboxes never read /etc.
    certsDirs: env.SYNCER_CERTS_DIR !== undefined ? splitList(env.SYNCER_CERTS_DIR) : DEFAULT_CERTS_DIRS,
    ...(flags['access-token'] ? {accessToken: flags['access-token']} : {}),
    ...(flags['target-repo-auth-key'] ? {authKeyFile: flags['target-repo-auth-key']} : {}),
    ...(flags['chunk-size'] !== undefined ? {chunkSize: flags['chunk-size']} : {}),
    env,
    ...(flags['requests-per-registry'] !== undefined ? {maxConcurrentPerHost: flags['requests-per-registry']} : {}),
    ...(flags.debug ? {onRequest: (e: RequestEvent) => log(formatRequestEvent(e))} : {}),
    onRateLimited: (wait: RateLimitWait) => log(formatRateLimitWait(wait)),
  }
}

/** Why a run stalls: `docker.io: rate limited (429), waiting 30 s as Retry-After asks`. */
function formatRateLimitWait(wait: RateLimitWait): string {
  const seconds = (ms: number) => `${Math.ceil(ms / 1000)} s`
  const why =
    wait.retryAfterMs === null
      ? 'before retrying (no Retry-After)'
      : wait.retryAfterMs > wait.delayMs
        ? `(Retry-After asks ${seconds(wait.retryAfterMs)}; retrying sooner, then giving up)`
        : 'as Retry-After asks'
  return `${wait.registry}: rate limited (429), waiting ${seconds(wait.delayMs)} ${why}`
}

function formatRequestEvent(e: RequestEvent): string {
  const outcome = e.status === null ? `failed (${e.error ?? 'network error'})` : String(e.status)
  const retry = e.attempt > 1 ? ` attempt ${e.attempt}` : ''
  return `debug: ${e.method} ${e.url} ${outcome} ${Math.round(e.durationMs)}ms${retry}`
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}
