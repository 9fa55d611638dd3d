/**
 * The one place where HTTP requests to registries are made: the scheme (HTTPS first where plain HTTP is allowed),
 * TLS material, authentication (challenge → Basic or bearer token), retries with backoff, per-host concurrency
 * bounds, timeouts and debug events are composed here.
 */
import {type Credential, credentialSecrets} from '../auth/credential.ts'
import type {Secrets} from '../ref/secrets.ts'
import {basicAuthorization, TokenCache} from './bearer.ts'
import {type Challenge, parseChallenge} from './challenge.ts'
import {AuthenticationError, NetworkError, RegistryError} from './errors.ts'
import {Limiter} from './limiter.ts'
import {redactUrl} from './redact.ts'
import {type FetchTls, fetchTls, type TlsLookup} from './tls.ts'
import {mayFollow, rebased} from './plain-http.ts'
import {speaksTls} from './tls-probe.ts'
import {fetchWithIdleTimeout} from './watchdog.ts'
import {backoff, type Pace, parseRetryAfter, retryDelayMs} from './retry.ts'
import {isTemporary, TEMPORARY_STATUS} from './temporary.ts'
import {type RateLimit, RateLimits, type RateLimitWait} from './rate-limit.ts'

export type {RateLimit, RateLimitWait} from './rate-limit.ts'

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

export interface RequestEvent {
  method: string
  url: string
  status: number | null
  durationMs: number
  attempt: number
  error?: string
}

export interface TransportOptions {
  credentials: (registry: string) => Promise<Credential>
  /** The run's backoff, pauses and clock (made by the command; a test's waits for nothing). */
  pace: Pace
  /** Concurrent requests per host; registries (Docker Hub first) throttle clients that open many more. */
  maxConcurrentPerHost?: number
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
  private readonly limiters = new Map<string, Limiter>()
  private readonly contacts = new Map<string, Promise<Contact>>()
  /** Base URLs decided by the HTTPS-first probe, by the endpoint's own base URL. */
  private readonly decided = new Map<string, string>()
  private readonly tlsByHost = new Map<string, Promise<FetchTls | null>>()
  private readonly tokens: TokenCache
  private readonly rateLimits = new RateLimits()
  /** Per registry and per base URL: looked up once, not on each of a large plan's tens of thousands of requests. */
  private readonly credentials = new Map<string, Promise<Credential>>()
  private readonly hosts = new Map<string, string>()

  constructor(private readonly options: TransportOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const send = (url: string, init: RequestInit) => this.retrying(url, init, init.body ? () => init.body! : undefined)
    this.tokens = new TokenCache(send, {insecureHosts: options.insecureHosts ?? [], now: options.pace.now})
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
    return this.limiter(req.url !== undefined ? new URL(req.url).host : this.hostOf(req.endpoint.baseUrl)).run(async () => {
      const base = req.endpoint.scheme === 'https-first' ? (await this.contact(req.endpoint, req.signal)).baseUrl : req.endpoint.baseUrl
      // A path below the base URL needs no parsing: the base (the endpoint's, or its plain-HTTP twin) is its origin.
      const url = req.url !== undefined ? rebased(req.url, req.endpoint.baseUrl, base) : base + req.path
      const sameOrigin = req.url === undefined || new URL(url).origin === new URL(base).origin
      const credential = await this.credential(req.endpoint.registry)
      // Ping and token exchange retry on their own; their failures are final here, so retries never nest.
      let response = await this.sendRetrying(url, req, sameOrigin ? await this.authorization(req, credential) : null)
      if (response.status === 401 && sameOrigin && req.retry !== false) {
        // The token expired, or the registry wants another scope: renew once, then believe the 401.
        await response.body?.cancel()
        await this.renewAuth(req, url, response, credential)
        response = await this.sendRetrying(url, req, await this.authorization(req, credential))
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

  private sendRetrying(url: string, req: TransportRequest, authorization: string | null): Promise<Response> {
    // A plain record (names are lower-case throughout): fetch builds its headers once, not a Headers object first.
    const headers: Record<string, string> = {...req.headers}
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent
    if (authorization) headers.authorization = authorization
    return this.retrying(
      url,
      {method: req.method, headers, signal: req.signal},
      req.body,
      req.retry === false ? 1 : this.pace.retry.maxAttempts,
      req.endpoint.registry,
    )
  }

  /**
   * Sends, retrying temporary statuses and network failures with backoff. The last response is returned
   * whatever its status; `body` is a factory so that every attempt sends a fresh body.
   */
  private async retrying(
    url: string,
    init: RequestInit,
    body?: () => NonNullable<RequestInit['body']>,
    maxAttempts = this.pace.retry.maxAttempts,
    registry = new URL(url).host,
  ): Promise<Response> {
    const method = init.method ?? 'GET'
    const {pace} = this
    const signal = init.signal ?? undefined
    for (let attempt = 1; ; attempt++) {
      const started = performance.now()
      let response: Response
      try {
        response = await this.send(url, {...init, body: body?.()}, this.timeoutMs)
        this.emit({method, url, status: response.status, durationMs: performance.now() - started, attempt})
      } catch (err) {
        this.emit({method, url, status: null, durationMs: performance.now() - started, attempt, error: err instanceof Error ? err.message : String(err)})
        if (!isTemporary(err) || attempt >= maxAttempts) throw err
        await backoff(pace, pace.retry, attempt, {signal})
        continue
      }
      // Only the status is known here (the body is unread): OCI codes count where whole transfers start over.
      if (!TEMPORARY_STATUS.has(response.status) || attempt >= maxAttempts) return response
      await response.body?.cancel()
      const retryAfter = response.headers.get('retry-after')
      const delayMs = retryDelayMs(pace.retry, attempt, retryAfter, pace.now())
      if (response.status === 429) this.options.onRateLimited?.({registry, delayMs, retryAfterMs: parseRetryAfter(retryAfter, pace.now())})
      await pace.sleep(delayMs, signal)
    }
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

  /** The credential of `registry`, asked once per run (a failed lookup is asked again); its secrets learnt then. */
  private credential(registry: string): Promise<Credential> {
    let credential = this.credentials.get(registry)
    if (!credential) {
      const pending = this.options.credentials(registry).then((c) => {
        for (const secret of credentialSecrets(c)) this.options.secrets?.add(secret)
        return c
      })
      pending.catch(() => this.credentials.get(registry) === pending && this.credentials.delete(registry))
      this.credentials.set(registry, pending)
      credential = pending
    }
    return credential
  }

  private hostOf(baseUrl: string): string {
    let host = this.hosts.get(baseUrl)
    if (host === undefined) {
      host = new URL(baseUrl).host
      this.hosts.set(baseUrl, host)
    }
    return host
  }

  private limiter(host: string): Limiter {
    let limiter = this.limiters.get(host)
    if (!limiter) {
      limiter = new Limiter(this.options.maxConcurrentPerHost ?? DEFAULT_MAX_CONCURRENT_PER_HOST)
      this.limiters.set(host, limiter)
    }
    return limiter
  }

  private emit(event: RequestEvent): void {
    this.options.onRequest?.({...event, url: redactUrl(event.url)})
  }
}

function stateFrom(response: Response): AuthState {
  if (response.status !== 401) return {scheme: 'none'}
  const challenge = parseChallenge(response.headers.get('www-authenticate'))
  if (!challenge) return {scheme: 'none'}
  return challenge.scheme === 'bearer' ? {scheme: 'bearer', challenge} : {scheme: 'basic'}
}
