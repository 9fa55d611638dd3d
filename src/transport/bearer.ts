/**
 * Docker token-service authentication: exchanging credentials for short-lived bearer tokens, per
 * (realm, service, scopes). Tokens are cached until shortly before expiry and fetched once even when many
 * requests need the same one at the same time (single flight).
 */
import type {Credential} from '../auth/credential.ts'
import {readLimited} from './body.ts'
import type {Challenge} from './challenge.ts'
import {AuthenticationError, NetworkError} from './errors.ts'
import {plainHttpFor} from './plain-http.ts'
import {redactUrl} from './redact.ts'

type BearerChallenge = Extract<Challenge, {scheme: 'bearer'}>

interface CachedToken {
  token: string
  expiresAt: number
}

/** Docker's token spec: tokens without expires_in live 60 s. We renew 10 s early to avoid a 401 round trip. */
const DEFAULT_TOKEN_TTL_S = 60
const EARLY_RENEWAL_MS = 10_000
const CLIENT_ID = 'image-syncer'
/** Redirects a token request may take; each hop is checked like the realm itself. */
const MAX_REDIRECTS = 5
const REDIRECT_STATUS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
/** Token answers are a few KiB (a JWT and its expiry); a service that sends more is not one to buffer. */
export const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024

export type TokenFetch = (url: string, init: RequestInit) => Promise<Response>

export class TokenCache {
  private readonly tokens = new Map<string, Promise<CachedToken>>()

  /**
   * `insecureHosts`: the --insecure-registry hosts, whose token realms may be plain HTTP (anonymously).
   * `now`: the run's clock (its pace), which token lifetimes are measured on.
   */
  constructor(
    private readonly send: TokenFetch,
    private readonly options: {insecureHosts: readonly string[]; now: () => number},
  ) {}

  /** A token for `scopes` under `challenge`, from cache or the token endpoint. */
  async token(registry: string, challenge: BearerChallenge, scopes: readonly string[], credential: Credential): Promise<string> {
    if (credential.kind === 'registry-token') return credential.token
    const key = cacheKey(challenge, scopes, credential)
    const cached = this.tokens.get(key)
    if (cached) {
      const value = await cached.catch(() => null)
      if (value && value.expiresAt > this.options.now()) return value.token
      if (this.tokens.get(key) === cached) this.tokens.delete(key)
      return this.token(registry, challenge, scopes, credential)
    }
    const pending = this.fetchToken(registry, challenge, scopes, credential)
    this.tokens.set(key, pending)
    pending.catch(() => this.tokens.get(key) === pending && this.tokens.delete(key))
    return (await pending).token
  }

  /** Drops a token the registry rejected (expired early, revoked, scope changed). */
  invalidate(challenge: BearerChallenge, scopes: readonly string[], credential: Credential): void {
    this.tokens.delete(cacheKey(challenge, scopes, credential))
  }

  /**
   * Sends the token request and follows redirects itself: every hop must pass the realm rules, so a redirect
   * cannot take the credentials (a refresh token travels in the body) to plain HTTP or to a local file. As fetch
   * does, the Authorization header stays with the first origin, and a 303 (or 301/302 of a POST) becomes a GET.
   */
  private async exchange(registry: string, realm: URL, first: RequestInit, credential: Credential): Promise<Response> {
    let url = realm
    let init = first
    for (let hop = 0; ; hop++) {
      const response = await this.send(url.toString(), {...init, redirect: 'manual'})
      const location = REDIRECT_STATUS.has(response.status) ? response.headers.get('location') : null
      if (location === null) return response
      await response.body?.cancel()
      if (hop >= MAX_REDIRECTS)
        throw new AuthenticationError(registry, response.status, `${registry}: the token service redirected more than ${MAX_REDIRECTS} times`)
      const next = realmUrl(
        registry,
        URL.canParse(location, url.toString()) ? new URL(location, url).toString() : location,
        credential,
        this.options.insecureHosts,
      )
      const headers = new Headers(init.headers)
      if (next.origin !== url.origin) headers.delete('authorization')
      const toGet = response.status === 303 || ((response.status === 301 || response.status === 302) && init.method === 'POST')
      if (toGet) headers.delete('content-type')
      init = toGet ? {method: 'GET', headers} : {...init, headers}
      url = next
    }
  }

  private async fetchToken(registry: string, challenge: BearerChallenge, scopes: readonly string[], credential: Credential): Promise<CachedToken> {
    const url = realmUrl(registry, challenge.realm, credential, this.options.insecureHosts)
    let init: RequestInit
    if (credential.kind === 'identity-token') {
      // OAuth2 refresh-token grant: what Docker does with an identity token from `docker login`.
      const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: credential.token, client_id: CLIENT_ID})
      if (challenge.service) form.set('service', challenge.service)
      if (scopes.length) form.set('scope', scopes.join(' '))
      init = {method: 'POST', body: form.toString(), headers: {'content-type': 'application/x-www-form-urlencoded'}}
    } else {
      if (challenge.service) url.searchParams.set('service', challenge.service)
      for (const scope of scopes) url.searchParams.append('scope', scope)
      const headers: Record<string, string> = {}
      if (credential.kind === 'basic') headers.authorization = basicAuthorization(credential.username, credential.password)
      init = {method: 'GET', headers}
    }
    let response: Response
    try {
      response = await this.exchange(registry, url, init, credential)
    } catch (err) {
      // fetch's own failures; anything else (a NetworkError, unusable TLS material) is already said well.
      if (!(err instanceof TypeError)) throw err
      throw new NetworkError({method: init.method ?? 'GET', url: url.toString(), kind: 'connection', cause: err})
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel()
      const who = credential.kind === 'basic' ? `as "${credential.username}"` : credential.kind === 'anonymous' ? 'anonymously' : 'with the identity token'
      throw new AuthenticationError(
        registry,
        response.status,
        `${registry}: the token service refused access ${who} for ${scopes.join(' ') || 'the registry'} (HTTP ${response.status})`,
      )
    }
    if (!response.ok) {
      await response.body?.cancel()
      throw new AuthenticationError(registry, response.status, `${registry}: the token service answered HTTP ${response.status}`)
    }
    const bytes = await readLimited(
      response,
      MAX_TOKEN_RESPONSE_BYTES,
      () => new AuthenticationError(registry, response.status, `${registry}: the token service answered with more than ${MAX_TOKEN_RESPONSE_BYTES} bytes`),
    )
    const body = parseJson(bytes) as {token?: unknown; access_token?: unknown; expires_in?: unknown} | null
    const token = typeof body?.token === 'string' ? body.token : typeof body?.access_token === 'string' ? body.access_token : null
    if (!token) throw new AuthenticationError(registry, response.status, `${registry}: the token service answered without a token`)
    const ttl = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_TTL_S
    return {token, expiresAt: this.options.now() + Math.max(ttl * 1000 - EARLY_RENEWAL_MS, ttl * 500)}
  }
}

/**
 * The realm a registry's challenge names, if we may ask it for a token. The registry chooses it, so it is not
 * trusted: fetch would read a `file:` realm from the local disk (and we would hand its token to the registry),
 * and a plain-HTTP realm would expose the credentials on the wire. https is accepted; http only on loopback and
 * --insecure-registry hosts, and credentials go over plain HTTP only to loopback.
 */
function realmUrl(registry: string, realm: string, credential: Credential, insecureHosts: readonly string[]): URL {
  const url = URL.canParse(realm) ? new URL(realm) : null
  if (url?.protocol === 'https:') return url
  const plain = url?.protocol === 'http:' ? plainHttpFor(url.host, insecureHosts) : 'refused'
  if (url === null || plain === 'refused') {
    throw new AuthenticationError(
      registry,
      null,
      `${registry}: refusing the token realm ${url ? redactUrl(url) : '(not a URL)'}: only https realms are accepted (http only on loopback or --insecure-registry hosts)`,
    )
  }
  if (plain === 'insecure' && credential.kind !== 'anonymous') {
    throw new AuthenticationError(
      registry,
      null,
      `${registry}: refusing to send credentials to the plain-HTTP token realm ${redactUrl(url)}; it must use https`,
    )
  }
  return url
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return null
  }
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

function cacheKey(challenge: BearerChallenge, scopes: readonly string[], credential: Credential): string {
  const who =
    credential.kind === 'basic'
      ? `basic:${credential.username}:${Bun.hash(credential.password)}`
      : credential.kind === 'identity-token'
        ? `id:${Bun.hash(credential.token)}`
        : credential.kind
  return [challenge.realm, challenge.service ?? '', [...scopes].sort().join(' '), who].join('|')
}
