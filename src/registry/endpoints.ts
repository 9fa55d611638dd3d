/**
 * Which URL serves a registry. Docker Hub's API lives on registry-1.docker.io; plain HTTP is used only for
 * loopback hosts (as Docker does) or hosts the user named insecure; `--mirror` redirects reads of a registry to
 * another URL (a pull-through cache) without changing any image name.
 */
import {SyncerError} from '../ref/errors.ts'
import {DOCKER_HUB} from '../ref/reference.ts'
import {normaliseRegistryKey} from '../auth/keychain.ts'
import type {Endpoint} from '../transport/transport.ts'

export const DOCKER_HUB_API = 'https://registry-1.docker.io'

export interface EndpointOptions {
  /** `host[:port]` entries reached over plain HTTP. */
  insecureRegistries: readonly string[]
  /** registry → base URL, e.g. `docker.io` → `http://127.0.0.1:5000`. */
  mirrors: Readonly<Record<string, string>>
}

export class EndpointError extends SyncerError {
  override readonly name = 'EndpointError'
  readonly category = 'input' as const
  readonly code = 'INVALID_ENDPOINT'
}

export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:\d+$/, '')
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

export function isInsecure(hostPort: string, options: Pick<EndpointOptions, 'insecureRegistries'>): boolean {
  const key = hostPort.toLowerCase()
  return isLoopbackHost(key) || options.insecureRegistries.some((h) => h.toLowerCase() === key || h.toLowerCase() === key.replace(/:\d+$/, ''))
}

/** Where to send requests for `registry`, with mirrors applied. Read and write paths both use this. */
export function endpointFor(registry: string, options: EndpointOptions): Endpoint {
  const mirror = options.mirrors[normaliseRegistryKey(registry)]
  if (mirror !== undefined) return mirrorEndpoint(registry, mirror, options)
  if (registry === DOCKER_HUB) return {registry: DOCKER_HUB, baseUrl: DOCKER_HUB_API}
  return {registry, baseUrl: `${isInsecure(registry, options) ? 'http' : 'https'}://${registry}`}
}

function mirrorEndpoint(registry: string, mirror: string, options: EndpointOptions): Endpoint {
  let url: URL
  try {
    url = new URL(mirror)
  } catch {
    throw new EndpointError(`mirror for ${registry} must be a URL like https://host[:port], got "${mirror}"`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new EndpointError(`mirror for ${registry} must use http or https, got "${url.protocol}"`)
  if (url.pathname !== '/' && url.pathname !== '') throw new EndpointError(`mirror for ${registry} must not have a path ("${url.pathname}"): registries serve the API at /v2/`)
  if (url.username || url.password) throw new EndpointError(`mirror for ${registry} must not carry credentials in its URL; use the docker config file`)
  if (url.protocol === 'http:' && !isInsecure(url.host, options)) {
    throw new EndpointError(`mirror ${url.host} uses plain HTTP: allow it with --insecure-registry ${url.host}`)
  }
  return {registry: normaliseRegistryKey(url.host), baseUrl: `${url.protocol}//${url.host}`}
}

/** Parses `HOST=URL` pairs from flags and the comma-separated SYNCER_MIRRORS variable. */
export function parseMirrors(values: readonly string[]): Record<string, string> {
  const mirrors: Record<string, string> = {}
  for (const value of values) {
    const eq = value.indexOf('=')
    if (eq <= 0 || eq === value.length - 1) throw new EndpointError(`--mirror expects HOST=URL, got "${value}"`)
    mirrors[normaliseRegistryKey(value.slice(0, eq).trim())] = value.slice(eq + 1).trim()
  }
  return mirrors
}
