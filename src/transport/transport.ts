/**
 * The one place where HTTP requests to registries are made: the scheme (HTTPS first where plain HTTP is allowed),
 * TLS material, authentication (challenge → Basic or bearer token), retries with backoff, per-host concurrency
 * bounds, timeouts and debug events are composed here.
 */
import type {Credential} from '../auth/credential.ts'
import {CredentialCache} from './credential-cache.ts'
import type {Secrets} from '../ref/secrets.ts'
import {basicAuthorization, TokenCache} from './bearer.ts'
import {type Challenge, parseChallenge} from './challenge.ts'
import {AuthenticationError, NetworkError, RegistryError} from './errors.ts'
import {redactUrl} from './redact.ts'
import {type FetchTls, fetchTls, type TlsLookup} from './tls.ts'
import {mayFollow, rebased} from './plain-http.ts'
import {speaksTls} from './tls-probe.ts'
import {fetchWithIdleTimeout} from './watchdog.ts'
import type {Pace} from './retry.ts'
import {type RateLimit, RateLimits, type RateLimitWait} from './rate-limit.ts'
import {type HostConcurrency, type HostThrottle, hostThrottle, type Lease} from './throttle.ts'
import {type Attempts, attempt, type RequestEvent} from './attempts.ts'

export type {RateLimit, RateLimitWait} from './rate-limit.ts'
export type {RequestEvent} from './attempts.ts'
export type {HostConcurrency} from './throttle.ts'

/**
 * Where a registry is reached: `registry` names it for credentials, `baseUrl` is scheme://host[:port].
 * `https-first` (loopback and insecure hosts; `baseUrl` is https): Docker's rule, the first exchange tries HTTPS
 * and falls back to plain HTTP, for the rest of the run, only when the server does not speak TLS. A certificate
 * that fails verification is an error, never a reason to fall back. `fixed`: `baseUrl`'s scheme, always.
 */
export interface Endpoint {
  registry: string
  baseUrl: string
  scheme: 'fixed' | 'https-first'
}

export interface TransportOptions {
  credentials: (registry: string) => Promise<Credential>
  /** The run's backoff, pauses and clock (made by the command; a test's waits for nothing). */
  pace: Pace
  /** Concurrent requests per host at most; registries (Docker Hub first) throttle clients that open many more. */
  maxConcurrentPerHost?: number
  /** `adaptive` (default): fewer in flight while a host throttles, its Retry-After held by all (throttle.ts). */
  hostConcurrency?: HostConcurrency
  /** Time to wait for response headers, per attempt. */
  timeoutMs?: number
  userAgent?: string
  onRequest?: (event: RequestEvent) => void
  /** CAs and client certificates per host, for private registries. */
  tls?: TlsLookup
  /** `--insecure-registry` hosts: their token realms may be plain HTTP (see bearer.ts). */
  insecureHosts?: readonly string[]
  /** Told before each wait on a 429, so a run that stalls says why. */
  onRateLimited?: (wait: RateLimitWait) => void
  /** Learns every credential spent and token obtained, so that what a registry echoes of them is masked. */
  secrets?: Secrets
}

export interface TransportRequest {
  endpoint: Endpoint
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE'
  /** Path below the base URL, beginning with `/v2/`, query included. */
  path: string
  /**
   * An absolute URL to use instead of base URL + path: upload sessions live where the registry's Location says.
   * Credentials go only to the endpoint's own origin.
   */
  url?: string
  /** false for bodies that cannot be sent twice (streams): no retry and no re-authentication. Default true. */
  retry?: boolean
  headers?: Record<string, string>
  /** A factory, so that a retry can send the body again. */
  body?: () => NonNullable<RequestInit['body']>
  /** Token scopes this request needs, e.g. `repository:library/busybox:pull`. */
  scopes: readonly string[]
  signal?: AbortSignal
  /** Statuses besides 2xx that the caller handles itself (404 for "absent"). */
  allowStatus?: readonly number[]
}

/**
 * Requests in flight per registry host (--requests-per-registry). Small requests dominate a mirror run and each
 * waits a round trip; 32 keeps a distant registry busy, still far below what public registries allow per client.
 */
export const DEFAULT_MAX_CONCURRENT_PER_HOST = 32

const DEFAULT_TIMEOUT_MS = 30_000

type AuthState = {scheme: 'none'} | {scheme: 'basic'} | {scheme: 'bearer'; challenge: Extract<Challenge, {scheme: 'bearer'}>}

/** What the first exchange with an endpoint (`GET /v2/`) taught: the base URL it answered on, and its auth. */
interface Contact {
  baseUrl: string
  auth: AuthState
}

export class Transport {
  private readonly timeoutMs: number
  private readonly throttles = new Map<string, HostThrottle>()
  private readonly attempts: Attempts
  private readonly contacts = new Map<string, Promise<Contact>>()
  /** Base URLs decided by the HTTPS-first probe, by the endpoint's own base URL. */
  private readonly decided = new Map<string, string>()
  private readonly tlsByHost = new Map<string, Promise<FetchTls | null>>()
  private readonly tokens: TokenCache
  private readonly rateLimits = new RateLimits()
  /** Per registry and per base URL: looked up once, not on each of a large plan's tens of thousands of requests. */
  private readonly hosts = new Map<string, string>()

  private readonly credentials: CredentialCache

  constructor(private readonly options: TransportOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.attempts = {
      pace: options.pace,
      send: (url, init) => this.send(url, init, this.timeoutMs),
      emit: (event) => options.onRequest?.({...event, url: redactUrl(event.url)}),
      throttleOf: (host) => this.throttle(host),
      onRateLimited: options.onRateLimited,
    }
    const send = (url: string, init: RequestInit) => this.retrying(url, init, init.body ? () => init.body! : undefined)
    this.tokens = new TokenCache(send, {insecureHosts: options.insecureHosts ?? [], now: options.pace.now})
    this.credentials = new CredentialCache(options.credentials, options.pace.now, options.secrets)
  }

  /** The pace of this transport, for the registry layer's own retries (resumed blob reads, upload chunks). */
  get pace(): Pace {
    return this.options.pace
  }

  /** Where `endpoint` is served: its base URL, or plain HTTP once the HTTPS-first probe decided so. */
  baseUrlOf(endpoint: Endpoint): string {
    return this.decided.get(endpoint.baseUrl) ?? endpoint.baseUrl
  }

  /** Whether `url`, given by a registry as where to go on, may be followed (plain-http.ts). */
  mayFollow(url: string): boolean {
    return URL.canParse(url) && mayFollow(new URL(url), this.options.insecureHosts ?? [])
  }

  /** Sends a request, authenticated and retried; throws RegistryError for statuses it was not told to allow. */
  async request(req: TransportRequest): Promise<Response> {
    return this.throttle(req.url !== undefined ? new URL(req.url).host : this.hostOf(req.endpoint.baseUrl)).run(async (lease) => {
      const base = req.endpoint.scheme === 'https-first' ? (await this.contact(req.endpoint, req.signal)).baseUrl : req.endpoint.baseUrl
      // A path below the base URL needs no parsing: the base (the endpoint's, or its plain-HTTP twin) is its origin.
      const url = req.url !== undefined ? rebased(req.url, req.endpoint.baseUrl, base) : base + req.path
      const sameOrigin = req.url === undefined || new URL(url).origin === new URL(base).origin
      const credential = await this.credentials.get(req.endpoint.registry)
      // Ping and token exchange retry on their own; their failures are final here, so retries never nest.
      let response = await this.sendRetrying(url, req, sameOrigin ? await this.authorization(req, credential) : null, lease)
      if (response.status === 401 && sameOrigin && req.retry !== false) {
        // The token expired, or the registry wants another scope: renew once, then believe the 401.
        await response.body?.cancel()
        await this.renewAuth(req, url, response, credential)
        response = await this.sendRetrying(url, req, await this.authorization(req, credential), lease)
      }
      this.rateLimits.note(req.endpoint.registry, response.headers)
      if (response.ok || req.allowStatus?.includes(response.status)) return response
      throw await RegistryError.fromResponse(req.method, url, response)
    })
  }

  /** The budget `registry` announced; the lowest remaining count seen, as concurrent answers arrive out of order. */
  rateLimit(registry: string): RateLimit | null {
    return this.rateLimits.get(registry)
  }

  private sendRetrying(url: string, req: TransportRequest, authorization: string | null, lease: Lease): Promise<Response> {
    // A plain record (names are lower-case throughout): fetch builds its headers once, not a Headers object first.
    const headers: Record<string, string> = {...req.headers}
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent
    if (authorization) headers.authorization = authorization
    const maxAttempts = req.retry === false ? 1 : this.pace.retry.maxAttempts
    return attempt(this.attempts, url, {method: req.method, headers, signal: req.signal}, {body: req.body, maxAttempts, registry: req.endpoint.registry, lease})
  }

  /** Pings and token exchanges: retried, outside any slot (they run inside the slot of the request that needs them). */
  private retrying(url: string, init: RequestInit, body?: () => NonNullable<RequestInit['body']>): Promise<Response> {
    return attempt(this.attempts, url, init, {body, maxAttempts: this.pace.retry.maxAttempts, registry: new URL(url).host})
  }

  private async authorization(req: TransportRequest, credential: Credential): Promise<string | null> {
    const state = (await this.contact(req.endpoint, req.signal)).auth
    if (state.scheme === 'bearer') {
      const token = await this.tokens.token(req.endpoint.registry, state.challenge, req.scopes, credential)
      this.options.secrets?.add(token)
      return `Bearer ${token}`
    }
    if (state.scheme === 'basic' && credential.kind === 'basic') return basicAuthorization(credential.username, credential.password)
    if (state.scheme === 'basic' && credential.kind === 'registry-token') return `Bearer ${credential.token}`
    return null
  }

  /** Learns once per endpoint, from `GET /v2/`, where it answers and whether and how it wants us to authenticate. */
  private contact(endpoint: Endpoint, signal?: AbortSignal): Promise<Contact> {
    let contact = this.contacts.get(endpoint.baseUrl)
    if (!contact) {
      const pending = this.ping(endpoint, signal)
      this.contacts.set(endpoint.baseUrl, pending)
      pending.then(
        (c) => this.decided.set(endpoint.baseUrl, c.baseUrl),
        () => this.contacts.get(endpoint.baseUrl) === pending && this.contacts.delete(endpoint.baseUrl),
      )
      contact = pending
    }
    return contact
  }

  private async ping(endpoint: Endpoint, signal?: AbortSignal): Promise<Contact> {
    const headers: Record<string, string> = this.options.userAgent ? {'user-agent': this.options.userAgent} : {}
    const at = async (baseUrl: string): Promise<Response> => this.retrying(`${baseUrl}/v2/`, {method: 'GET', headers, signal})
    let response: Response
    try {
      response = await at(endpoint.baseUrl)
    } catch (err) {
      if (endpoint.scheme === 'fixed' || !(err instanceof NetworkError) || err.kind !== 'tls-handshake') throw err
      // A TLS server that refused us (no client certificate) fails the same way; it must never get plain HTTP.
      if (await speaksTls(new URL(endpoint.baseUrl).host, this.timeoutMs)) throw err
      return this.plainContact(endpoint, at, err)
    }
    await response.body?.cancel()
    return {baseUrl: endpoint.baseUrl, auth: stateFrom(response)}
  }

  /**
   * The HTTPS attempt at an https-first endpoint found no TLS session and the port answered no ClientHello with
   * TLS: plain HTTP is used when the server answers it. A 400 or silence still leaves the handshake failure.
   */
  private async plainContact(endpoint: Endpoint, at: (baseUrl: string) => Promise<Response>, handshake: NetworkError): Promise<Contact> {
    const baseUrl = endpoint.baseUrl.replace(/^https:/, 'http:')
    const response = await at(baseUrl).catch(() => {
      throw handshake
    })
    await response.body?.cancel()
    if (response.status === 400) throw handshake
    return {baseUrl, auth: stateFrom(response)}
  }

  private async renewAuth(req: TransportRequest, url: string, response: Response, credential: Credential): Promise<void> {
    const challenge = parseChallenge(response.headers.get('www-authenticate'))
    const contact = await this.contact(req.endpoint, req.signal)
    const state = contact.auth
    if (state.scheme === 'bearer') this.tokens.invalidate(state.challenge, req.scopes, credential)
    if (
      challenge &&
      (state.scheme !== challenge.scheme || (challenge.scheme === 'bearer' && state.scheme === 'bearer' && challenge.realm !== state.challenge.realm))
    ) {
      // The endpoint answered /v2/ without a challenge but protects repositories: adopt the challenge it sent now.
      const auth: AuthState = challenge.scheme === 'bearer' ? {scheme: 'bearer', challenge} : {scheme: 'basic'}
      this.contacts.set(req.endpoint.baseUrl, Promise.resolve({baseUrl: contact.baseUrl, auth}))
    }
    if (!challenge && state.scheme === 'none') {
      throw new AuthenticationError(
        req.endpoint.registry,
        401,
        `${req.endpoint.registry}: ${req.method} ${redactUrl(url)} was refused (HTTP 401) without a usable challenge`,
      )
    }
  }

  private async send(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    const tls = url.startsWith('https:') ? await this.tlsFor(new URL(url).host) : null
    return fetchWithIdleTimeout(url, init, timeoutMs, tls)
  }

  private tlsFor(host: string): Promise<FetchTls | null> {
    let tls = this.tlsByHost.get(host)
    if (!tls) {
      tls = (this.options.tls?.(host) ?? Promise.resolve(null)).then((material) => (material ? fetchTls(material) : null))
      this.tlsByHost.set(host, tls)
    }
    return tls
  }

  private hostOf(baseUrl: string): string {
    let host = this.hosts.get(baseUrl)
    if (host === undefined) {
      host = new URL(baseUrl).host
      this.hosts.set(baseUrl, host)
    }
    return host
  }

  private throttle(host: string): HostThrottle {
    let throttle = this.throttles.get(host)
    if (!throttle) {
      const ceiling = this.options.maxConcurrentPerHost ?? DEFAULT_MAX_CONCURRENT_PER_HOST
      throttle = hostThrottle(this.options.hostConcurrency ?? 'adaptive', ceiling, this.options.pace)
      this.throttles.set(host, throttle)
    }
    return throttle
  }
}

function stateFrom(response: Response): AuthState {
  if (response.status !== 401) return {scheme: 'none'}
  const challenge = parseChallenge(response.headers.get('www-authenticate'))
  if (!challenge) return {scheme: 'none'}
  return challenge.scheme === 'bearer' ? {scheme: 'bearer', challenge} : {scheme: 'basic'}
}
