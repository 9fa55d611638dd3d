/**
 * Authentication for the fake registry: none, HTTP Basic, or the Docker token flow (401 challenge → `/token` →
 * Bearer). The bearer side is deliberately strict where real registries are strict, because those are the paths
 * our transport must get right:
 *   - a token only covers the scopes it was issued for, so a pull token used for a push gets a fresh challenge
 *     naming `pull,push` (clients must re-authenticate with the wider scope, not retry forever);
 *   - tokens expire after `tokenTtlSeconds`, so a long copy has to renew on 401;
 *   - the token endpoint answers both the GET form (Basic credentials) and the OAuth2 POST form
 *     (`grant_type=password|refresh_token`), the latter being what `docker login` identity tokens use.
 * Secrets never reach the logs: entries keep the scheme and the user name only.
 */
import {ociError} from './errors.ts'

export type AuthOptions = {kind: 'none'} | BasicAuthOptions | BearerAuthOptions

export interface BasicAuthOptions {
  kind: 'basic'
  username: string
  password: string
}

export interface BearerAuthOptions {
  kind: 'bearer'
  /** user name → password. Absent: anyone gets tokens, with or without credentials. */
  users?: Record<string, string>
  /** When `users` is set, whether a token request without credentials still gets a token. Default false. */
  anonymous?: boolean
  /** Default `fake-registry`. Token requests naming another service get 400. */
  service?: string
  /** Refresh tokens accepted by `POST /token` with `grant_type=refresh_token`. */
  identityTokens?: string[]
  /** Default 300. */
  tokenTtlSeconds?: number
  /**
   * Narrows what a token request is granted, e.g. pull-only for anonymous users. Subject is the user name,
   * `null` for anonymous, or `identity-token`. Default: everything requested.
   */
  authorize?: (subject: string | null, resource: string, requested: string[]) => string[]
}

/** What one request needs, e.g. `{resource: 'repository:a/b', actions: ['pull', 'push']}`. */
export interface Access {
  resource: string
  actions: string[]
}

export interface TokenRequestLogEntry {
  method: string
  service: string | null
  scopes: string[]
  grantType: 'anonymous' | 'basic' | 'password' | 'refresh_token' | 'unsupported'
  /** The user name when one was given (never the password). */
  username: string | null
  status: number
  /** Granted scopes in `resource:actions` form. */
  granted: string[]
}

interface IssuedToken {
  grants: Map<string, Set<string>>
  expiresAt: number
}

export type AuthScheme = 'none' | 'basic' | 'bearer'

export function authScheme(request: Request): AuthScheme {
  const header = request.headers.get('authorization')?.toLowerCase() ?? ''
  if (header.startsWith('basic ')) return 'basic'
  if (header.startsWith('bearer ')) return 'bearer'
  return 'none'
}

export class Authenticator {
  readonly tokenRequests: TokenRequestLogEntry[] = []
  private readonly tokens = new Map<string, IssuedToken>()
  private readonly refreshTokens = new Map<string, string | null>()

  constructor(
    private readonly options: AuthOptions,
    /** The token endpoint's URL, for the realm of challenges. */
    private readonly realm: () => string,
  ) {
    if (options.kind !== 'bearer') return
    for (const token of options.identityTokens ?? []) this.refreshTokens.set(token, 'identity-token')
  }

  /** Null when the request may proceed; otherwise the 401 to send. An empty `needed` means "any valid login". */
  check(request: Request, needed: Access[]): Response | null {
    const options = this.options
    if (options.kind === 'none') return null
    if (options.kind === 'basic') {
      const credentials = basicCredentials(request)
      if (credentials?.username === options.username && credentials.password === options.password) return null
      return unauthorized('Basic realm="fake"', needed)
    }
    const header = request.headers.get('authorization') ?? ''
    const token = /^bearer\s+(.+)$/i.exec(header)?.[1]?.trim()
    const issued = token === undefined ? undefined : this.tokens.get(token)
    const service = options.service ?? 'fake-registry'
    const scope = needed.map((access) => `${access.resource}:${access.actions.join(',')}`).join(' ')
    let challenge = `Bearer realm="${this.realm()}",service="${service}"`
    if (scope) challenge += `,scope="${scope}"`
    if (token === undefined) return unauthorized(challenge, needed)
    if (!issued || issued.expiresAt <= Date.now()) return unauthorized(`${challenge},error="invalid_token"`, needed)
    if (!needed.every((access) => this.covers(issued, access))) {
      return unauthorized(`${challenge},error="insufficient_scope"`, needed)
    }
    return null
  }

  /** Whether the request's credentials allow `access` (used for the `from` side of a cross-repository mount). */
  allows(request: Request, access: Access): boolean {
    if (this.options.kind !== 'bearer') return this.check(request, [access]) === null
    const token = /^bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1]?.trim()
    const issued = token === undefined ? undefined : this.tokens.get(token)
    return issued !== undefined && issued.expiresAt > Date.now() && this.covers(issued, access)
  }

  /** `GET|POST /token`. Only exists in bearer mode. */
  async handleToken(request: Request, url: URL): Promise<Response> {
    const options = this.options
    if (options.kind !== 'bearer') return new Response('not found', {status: 404})
    const form = request.method === 'POST' ? new URLSearchParams(await request.text()) : url.searchParams
    const scopes = (request.method === 'POST' ? (form.get('scope') ?? '').split(' ') : form.getAll('scope'))
      .flatMap((scope) => scope.split(' '))
      .filter((scope) => scope !== '')
    const entry: TokenRequestLogEntry = {
      method: request.method,
      service: form.get('service'),
      scopes,
      grantType: 'anonymous',
      username: null,
      status: 200,
      granted: [],
    }
    this.tokenRequests.push(entry)
    const fail = (status: number, error: string): Response => {
      entry.status = status
      const headers = status === 401 ? {'WWW-Authenticate': 'Basic realm="fake-token"'} : undefined
      return Response.json({error, errors: [{code: 'UNAUTHORIZED', message: error}]}, {status, headers})
    }
    if (entry.service !== (options.service ?? 'fake-registry')) return fail(400, 'invalid_request: unknown service')

    // Who is asking.
    let subject: string | null = null
    let password: string | null = null
    if (request.method === 'POST') {
      const grantType = form.get('grant_type')
      if (grantType === 'password') {
        entry.grantType = 'password'
        subject = entry.username = form.get('username')
        password = form.get('password')
        if (!this.validUser(subject, password)) return fail(401, 'invalid_grant')
      } else if (grantType === 'refresh_token') {
        entry.grantType = 'refresh_token'
        const refresh = form.get('refresh_token') ?? ''
        if (!this.refreshTokens.has(refresh)) return fail(401, 'invalid_grant')
        subject = this.refreshTokens.get(refresh) ?? null
      } else {
        entry.grantType = 'unsupported'
        return fail(400, 'unsupported_grant_type')
      }
    } else {
      const credentials = basicCredentials(request)
      if (credentials) {
        entry.grantType = 'basic'
        subject = entry.username = credentials.username
        if (!this.validUser(subject, credentials.password)) return fail(401, 'invalid credentials')
      } else if (options.users && !options.anonymous) {
        return fail(401, 'authentication required')
      }
    }

    // What they get.
    const grants = new Map<string, Set<string>>()
    for (const scope of scopes) {
      const parsed = parseScope(scope)
      if (!parsed) continue
      const allowed = options.authorize ? options.authorize(subject, parsed.resource, parsed.actions) : parsed.actions
      const actions = parsed.actions.filter((action) => allowed.includes(action))
      if (actions.length === 0) continue
      const set = grants.get(parsed.resource) ?? new Set<string>()
      for (const action of actions) set.add(action)
      grants.set(parsed.resource, set)
    }
    entry.granted = [...grants].map(([resource, actions]) => `${resource}:${[...actions].join(',')}`)

    const ttl = options.tokenTtlSeconds ?? 300
    const token = `fake-${crypto.randomUUID()}`
    this.tokens.set(token, {grants, expiresAt: Date.now() + ttl * 1000})
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: ttl,
      issued_at: new Date().toISOString(),
    }
    if (request.method === 'POST') {
      body.scope = entry.granted.join(' ')
      if (entry.grantType === 'password' && form.get('access_type') === 'offline') {
        const refresh = `fake-refresh-${crypto.randomUUID()}`
        this.refreshTokens.set(refresh, subject)
        body.refresh_token = refresh
      }
    }
    return Response.json(body)
  }

  private validUser(username: string | null, password: string | null): boolean {
    if (this.options.kind !== 'bearer' || !this.options.users) return true
    return username !== null && Object.hasOwn(this.options.users, username) && this.options.users[username] === password
  }

  private covers(issued: IssuedToken, access: Access): boolean {
    const granted = issued.grants.get(access.resource)
    return granted !== undefined && access.actions.every((action) => granted.has(action) || granted.has('*'))
  }
}

/** `repository:a/b:pull,push` → resource `repository:a/b`, actions `[pull, push]`. Names contain no colon. */
export function parseScope(scope: string): Access | null {
  const last = scope.lastIndexOf(':')
  const first = scope.indexOf(':')
  if (first < 0 || last === first) return null
  return {
    resource: scope.slice(0, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  }
}

function basicCredentials(request: Request): {username: string; password: string} | null {
  const match = /^basic\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')
  if (!match?.[1]) return null
  const decoded = Buffer.from(match[1].trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? null : {username: decoded.slice(0, colon), password: decoded.slice(colon + 1)}
}

function unauthorized(challenge: string, needed: Access[]): Response {
  const detail = needed.flatMap((access) => {
    const [type, name] = access.resource.split(':')
    return access.actions.map((action) => ({Type: type, Name: name, Action: action}))
  })
  return ociError(401, 'UNAUTHORIZED', 'authentication required', detail, {'WWW-Authenticate': challenge})
}
