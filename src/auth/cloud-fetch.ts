/**
 * What every workload-identity flow shares: reading the platform's token files, calling its token endpoints
 * with a timeout and a size bound, and failing as an AuthError that names the endpoint and never its answer.
 * Everything secret that passes through (subject tokens, session keys, intermediate access tokens) is added to
 * the run's mask here, before anything can print it.
 */
import {FileReadError, readUserFile} from '../files/read.ts'
import type {Secrets} from '../ref/secrets.ts'
import {readLimited} from '../transport/body.ts'
import {isLoopbackHost} from '../transport/plain-http.ts'
import type {FetchTls} from '../transport/tls.ts'
import {fetchWithIdleTimeout} from '../transport/watchdog.ts'
import {AuthError} from './credential.ts'

/** What the identity flows are given by the composition root (registry/connect.ts). */
export interface CloudContext {
  env: Record<string, string | undefined>
  homeDir: string
  /** The run's clock (its Pace): token lifetimes are measured on it. */
  now: () => number
  secrets?: Secrets
  /** The run's TLS material for a host (--ca-file, certs.d); the ACR exchange is the registry itself. */
  tls: (host: string) => Promise<FetchTls | null>
}

/** Token answers and token files are a few KiB. */
const MAX_BYTES = 256 * 1024
const TIMEOUT_MS = 15_000

export function identityError(registry: string, message: string, hint?: string): AuthError {
  return new AuthError('WORKLOAD_IDENTITY_FAILED', message, {registry, ...(hint ? {hint} : {})})
}

/** A secret the flow learnt: masked from now on wherever the run prints. */
export function learn(ctx: CloudContext, ...values: string[]): void {
  for (const value of values) ctx.secrets?.add(value)
}

/** The text of a token or credentials file the platform mounted (a projected service-account token, an ADC file). */
export async function readTokenFile(ctx: CloudContext, registry: string, path: string, what: string): Promise<string> {
  try {
    const text = (await readUserFile(path, {what, maxBytes: MAX_BYTES})).toString('utf8').trim()
    learn(ctx, text)
    return text
  } catch (error) {
    if (!(error instanceof FileReadError)) throw error
    throw new AuthError('WORKLOAD_IDENTITY_FAILED', error.message, {registry, path})
  }
}

/**
 * An endpoint URL from an override variable or a credentials file: https, or plain http on loopback (an emulator,
 * a local agent). A file or variable that sends a token elsewhere in clear is refused, not followed.
 */
export function endpointUrl(registry: string, raw: string, what: string): URL {
  const url = URL.canParse(raw) ? new URL(raw) : null
  if (url?.protocol === 'https:' || (url?.protocol === 'http:' && isLoopbackHost(url.host))) return url
  throw identityError(registry, `${registry}: ${what} must be an https URL (http only on loopback), got "${url ? url.origin : 'not a URL'}"`)
}

export interface CloudAnswer {
  status: number
  /** The body parsed as JSON, or null. */
  json: Record<string, unknown> | null
  text: string
}

/**
 * One request to a token endpoint. Network failures and non-2xx answers become AuthErrors naming `what` and the
 * status; the body is not quoted (it may echo what we sent), only the OAuth `error` code when it is a plain word.
 */
export async function callEndpoint(ctx: CloudContext, registry: string, what: string, url: URL, init: RequestInit): Promise<CloudAnswer> {
  let response: Response
  try {
    response = await fetchWithIdleTimeout(url.toString(), {...init, redirect: 'error'}, TIMEOUT_MS, await ctx.tls(url.host))
  } catch (error) {
    throw new AuthError('WORKLOAD_IDENTITY_FAILED', `${registry}: ${what} at ${url.origin} could not be reached`, {
      registry,
      ...(error instanceof Error ? {cause: error} : {}),
    })
  }
  const bytes = await readLimited(response, MAX_BYTES, () => identityError(registry, `${registry}: ${what} answered with more than ${MAX_BYTES} bytes`))
  const text = new TextDecoder().decode(bytes)
  const json = parseObject(text)
  if (!response.ok) {
    const code = typeof json?.error === 'string' && /^[\w.-]{1,64}$/.test(json.error) ? ` (${json.error})` : ''
    throw identityError(registry, `${registry}: ${what} at ${url.origin} refused the request: HTTP ${response.status}${code}`)
  }
  return {status: response.status, json, text}
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** A string field of an endpoint's answer, or an error saying the answer lacks it. */
export function field(registry: string, what: string, json: Record<string, unknown> | null, name: string): string {
  const value = json?.[name]
  if (typeof value === 'string' && value !== '') return value
  throw identityError(registry, `${registry}: ${what} answered without "${name}"`)
}

/** A form body (`application/x-www-form-urlencoded`), as OAuth token endpoints take it. */
export function form(values: Record<string, string>): RequestInit {
  return {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams(values).toString()}
}

/** The `exp` claim of a JWT in milliseconds, or null when `token` is not a JWT with one (it is not verified: ours). */
export function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1]
  if (payload === undefined) return null
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {exp?: unknown}).exp
    return typeof exp === 'number' ? exp * 1000 : null
  } catch {
    return null
  }
}
