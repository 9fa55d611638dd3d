/**
 * Which URL serves a registry. Docker Hub's API lives on registry-1.docker.io; loopback hosts (as Docker does)
 * and hosts the user named insecure are tried over HTTPS first and spoken to over plain HTTP only when they do
 * not speak TLS; `--mirror` redirects reads of a registry to another URL (a pull-through cache) without changing
 * any image name, over the scheme its URL names.
 */
import {SyncerError} from '../ref/errors.ts'
import {DOCKER_HUB} from '../ref/reference.ts'
import {normaliseRegistryKey} from '../auth/keychain.ts'
import {plainHttpFor} from '../transport/plain-http.ts'
import {redactUserinfo} from '../transport/redact.ts'
import type {Endpoint} from '../transport/transport.ts'

export const DOCKER_HUB_API = 'https://registry-1.docker.io'

export interface EndpointOptions {
  /** `host[:port]` entries that may be reached over plain HTTP when they do not speak TLS. */
  insecureRegistries: readonly string[]
  /** registry → base URL, e.g. `docker.io` → `http://127.0.0.1:5000`. */
  mirrors: Readonly<Record<string, string>>
}

/** A registry address or its TLS material is unusable: `INVALID_ENDPOINT` (a mirror URL), `INVALID_TLS` (a CA or client certificate file). */
export class EndpointError extends SyncerError {
  override readonly name = 'EndpointError'
  readonly category = 'input' as const
  constructor(
    message: string,
    readonly code: 'INVALID_ENDPOINT' | 'INVALID_TLS' = 'INVALID_ENDPOINT',
  ) {
    super(message)
  }
}

function isInsecure(hostPort: string, options: Pick<EndpointOptions, 'insecureRegistries'>): boolean {
  return plainHttpFor(hostPort, options.insecureRegistries) !== 'refused'
}

/** Where to send requests for `registry`, with mirrors applied. Read and write paths both use this. */
export function endpointFor(registry: string, options: EndpointOptions): Endpoint {
  const mirror = options.mirrors[normaliseRegistryKey(registry)]
  if (mirror !== undefined) return mirrorEndpoint(registry, mirror, options)
  if (registry === DOCKER_HUB) return {registry: DOCKER_HUB, baseUrl: DOCKER_HUB_API, scheme: 'fixed'}
  return {registry, baseUrl: `https://${registry}`, scheme: isInsecure(registry, options) ? 'https-first' : 'fixed'}
}

function mirrorEndpoint(registry: string, mirror: string, options: EndpointOptions): Endpoint {
  let url: URL
  try {
    url = new URL(mirror)
  } catch {
    throw new EndpointError(`mirror for ${registry} must be a URL like https://host[:port], got "${redactUserinfo(mirror)}"`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new EndpointError(`mirror for ${registry} must use http or https, got "${url.protocol}"`)
  if (url.pathname !== '/' && url.pathname !== '')
    throw new EndpointError(`mirror for ${registry} must not have a path ("${url.pathname}"): registries serve the API at /v2/`)
  if (url.username || url.password) throw new EndpointError(`mirror for ${registry} must not carry credentials in its URL; use the docker config file`)
  if (url.protocol === 'http:' && !isInsecure(url.host, options)) {
    throw new EndpointError(`mirror ${url.host} uses plain HTTP: allow it with --insecure-registry ${url.host}`)
  }
  return {registry: normaliseRegistryKey(url.host), baseUrl: `${url.protocol}//${url.host}`, scheme: 'fixed'}
}

/** Parses `HOST=URL` pairs from flags and the comma-separated SYNCER_MIRRORS variable. */
export function parseMirrors(values: readonly string[]): Record<string, string> {
  const mirrors: Record<string, string> = {}
  for (const value of values) {
    const eq = value.indexOf('=')
    if (eq <= 0 || eq === value.length - 1) throw new EndpointError(`--mirror expects HOST=URL, got "${redactUserinfo(value)}"`)
    mirrors[normaliseRegistryKey(value.slice(0, eq).trim())] = value.slice(eq + 1).trim()
  }
  return mirrors
}
