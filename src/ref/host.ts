/**
 * Registry hosts: when the first component of a name is a host, how a host is validated, and how it is
 * normalised so that two spellings of one registry compare equal (`Quay.IO` = `quay.io`,
 * `index.docker.io` = `docker.io`). Pure string work, no DNS.
 */
import {abbreviate, MAX_REFERENCE_CHARS} from './text.ts'

/** Docker Hub's canonical name; every alias below is normalised to it, as `docker pull` does. */
export const DOCKER_HUB = 'docker.io'

/**
 * Names Docker Hub answers to. `index.docker.io` is the legacy v1 index name and `registry-1.docker.io` the
 * host the v2 API is actually served from; images referenced through any of them are the same images.
 */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io'])

/** True for Docker Hub under any of its names (case-insensitive, no port). */
export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.has(registry.toLowerCase())
}

/**
 * The distribution/reference rule for "is the first path component a registry?": it is when it contains
 * `.` (a domain) or `:` (a port, or an IPv6 address) or is `localhost`. Otherwise `foo/bar` means the
 * Docker Hub repository `foo/bar`. Unlike distribution/reference (but like ggcr's pkg/name) an upper-case
 * first component does not make it a host: `Bitnami/redis` is a Docker Hub name with an upper-case error,
 * which is what the user most likely meant. `localhost` is compared case-insensitively since hosts are.
 */
export function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component.toLowerCase() === 'localhost'
}

/** A registry as parsed from `host[:port]`, or why it could not be. */
export type RegistryParse = {ok: true; registry: string} | {ok: false; reason: string}

/** One DNS label: letters, digits and inner hyphens (distribution/reference's domain-component). */
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/
/** What distribution/reference accepts between brackets; full IPv6 validity is checked by `URL` below. */
const IPV6_CHARS = /^[0-9a-f:]+$/
const PORT = /^[0-9]+$/
const MAX_PORT = 65535

/**
 * Validates and normalises `host[:port]`: the host is lower-cased (hosts are case-insensitive), an IPv6
 * address is rewritten to its RFC 5952 form (`[0:0::1]` → `[::1]`) so equal addresses compare equal, and a
 * Docker Hub alias without a port becomes `docker.io`. The port is kept as written.
 */
export function parseRegistry(input: string): RegistryParse {
  const fail = (reason: string): RegistryParse => ({ok: false, reason})
  const lower = input.toLowerCase()
  let host: string
  let port: string | undefined
  if (lower.startsWith('[')) {
    const close = lower.indexOf(']')
    if (close === -1) return fail(`IPv6 address in "${abbreviate(input, MAX_REFERENCE_CHARS)}" has no closing "]"`)
    host = lower.slice(0, close + 1)
    const after = lower.slice(close + 1)
    if (after !== '') {
      if (!after.startsWith(':'))
        return fail(`unexpected "${abbreviate(after, MAX_REFERENCE_CHARS)}" after the IPv6 address in "${abbreviate(input, MAX_REFERENCE_CHARS)}"`)
      port = after.slice(1)
    }
    const address = normaliseIpv6(host.slice(1, -1))
    if (address === null) return fail(`"${abbreviate(host, MAX_REFERENCE_CHARS)}" is not a valid IPv6 address`)
    host = `[${address}]`
  } else {
    const colon = lower.indexOf(':')
    if (colon !== -1) {
      host = lower.slice(0, colon)
      port = lower.slice(colon + 1)
      if (port.includes(':')) return fail(`an IPv6 address must be written in brackets, e.g. "[::1]:5000", not "${abbreviate(input, MAX_REFERENCE_CHARS)}"`)
    } else {
      host = lower
    }
    const problem = domainProblem(host)
    if (problem !== null) return fail(problem)
  }
  if (port !== undefined) {
    const problem = portProblem(port, input)
    if (problem !== null) return fail(problem)
    return {ok: true, registry: `${host}:${port}`}
  }
  return {ok: true, registry: isDockerHub(host) ? DOCKER_HUB : host}
}

function domainProblem(host: string): string | null {
  if (host === '') return 'registry host is empty'
  for (const label of host.split('.')) {
    if (label === '') return `registry host "${abbreviate(host, MAX_REFERENCE_CHARS)}" has an empty label (leading, trailing or double ".")`
    if (!DOMAIN_LABEL.test(label)) {
      return `registry host "${abbreviate(host, MAX_REFERENCE_CHARS)}" is invalid: "${abbreviate(label, MAX_REFERENCE_CHARS)}" may only hold letters, digits and inner "-"`
    }
  }
  return null
}

function portProblem(port: string, input: string): string | null {
  if (port === '') return `port after ":" in "${abbreviate(input, MAX_REFERENCE_CHARS)}" is empty`
  if (!PORT.test(port)) return `port "${abbreviate(port, MAX_REFERENCE_CHARS)}" in "${abbreviate(input, MAX_REFERENCE_CHARS)}" must be a number`
  const value = Number(port)
  if (value < 1 || value > MAX_PORT)
    return `port ${abbreviate(port, MAX_REFERENCE_CHARS)} in "${abbreviate(input, MAX_REFERENCE_CHARS)}" is out of range (1-${MAX_PORT})`
  return null
}

/** RFC 5952 form of an IPv6 address (without brackets), or null if it is not one. */
function normaliseIpv6(address: string): string | null {
  if (!IPV6_CHARS.test(address)) return null
  try {
    // WHATWG URL implements the full IPv6 grammar and serialises the canonical compressed form.
    return new URL(`http://[${address}]/`).hostname.slice(1, -1)
  } catch {
    return null
  }
}
