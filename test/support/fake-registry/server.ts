/**
 * An in-process OCI distribution registry on `Bun.serve` (127.0.0.1, random port), for what the real
 * docker-registry cannot do on demand: scripted faults, Basic and Bearer auth, and server-side request counts.
 *
 * Request path: faults (outermost, so they can also hit `/token` and 401s) → auth → route → handler.
 * Every request is logged with its final status, so tests can assert "HEAD before GET" or "one mount, no
 * upload" from the server's point of view instead of trusting the client.
 */
import type {Server} from 'bun'
import type {Digest} from '../../../src/ref/digest.ts'
import {isDigest} from '../../../src/ref/digest.ts'
import {type Access, type AuthOptions, type AuthScheme, Authenticator, type TokenRequestLogEntry, authScheme} from './auth.ts'
import {cancelUpload, deleteBlob, finishUpload, getBlob, patchUpload, startUpload, uploadStatus} from './blobs.ts'
import type {BehaviourOptions, HandlerContext} from './context.ts'
import {ociError} from './errors.ts'
import {type Fault, type FaultContext, FaultSet, type FaultSpec} from './faults.ts'
import {deleteManifest, getManifest, listTags, putManifest} from './manifests.ts'
import {listReferrers} from './referrers.ts'
import {NAME_RE, Storage, TAG_RE} from './storage.ts'

export interface FakeRegistryOptions {
  /** Default `{kind: 'none'}`. */
  auth?: AuthOptions
  /** Faults active from the start; more can be added with `registry.addFault`. */
  faults?: FaultSpec[]
  /** Mirror distribution 2.8's Accept negotiation (see manifests.ts). Default true. */
  strictAccept?: boolean
  /** Location headers as paths instead of absolute URLs. Default false (absolute, like distribution). */
  relativeLocations?: boolean
  /**
   * `api`: serve `GET /v2/<name>/referrers/<digest>` and send `OCI-Subject` on PUTs of manifests with a subject
   * (distribution-spec 1.1). `none` (default): the path is a plain-text router 404 and PUTs say nothing about
   * subjects, which is what distribution 2.8 (docker-registry) does.
   */
  referrers?: 'api' | 'none'
  /** With `referrers: 'api'`: descriptors per page, to exercise `Link` pagination. Default: all on one page. */
  referrersPageSize?: number
  /** The most tags per tags/list page, whatever the client's `n` (Docker Hub caps at 100). Default: as asked. */
  tagsPageSize?: number
  /**
   * Where the bearer token endpoint lives: `same-host` (default) at `/token` of this server; `other-host` on a
   * second server of its own, as Docker Hub's auth.docker.io is for registry-1.docker.io; or `path` at another
   * path of this server, as Artifact Registry's `/v2/token`.
   */
  tokenService?: {kind: 'same-host'} | {kind: 'other-host'} | {kind: 'path'; path: string}
}

export interface RequestLogEntry {
  method: string
  path: string
  /** The raw query string without `?` (it never carries secrets in this protocol). */
  query: string
  status: number
  /** The scheme only; credentials and tokens are never recorded. */
  authorization: AuthScheme
  /** Names of the faults applied to this request. */
  faults: string[]
  /** The `Range` request header (a resumed blob GET), null when absent. */
  range: string | null
  /** The `Content-Range` request header (an upload chunk), null when absent. */
  contentRange: string | null
}

export interface FakeRegistry {
  readonly host: string
  readonly url: string
  /** Where the token endpoint is served: this server's URL unless `tokenService` is `other-host`. */
  readonly tokenUrl: string
  readonly requests: RequestLogEntry[]
  readonly tokenRequests: TokenRequestLogEntry[]
  /** Direct access to the content, for assertions ("the blob is in the target repo"). */
  readonly storage: Storage
  /** Logged requests whose method matches (`*` for any) and whose path matches (exact string or RegExp). */
  count(method: string, path: RegExp | string): number
  addFault(spec: FaultSpec): Fault
  clearFaults(): void
  /** Empties `requests` and `tokenRequests`, e.g. after seeding. */
  clearLog(): void
  putBlob(repo: string, bytes: Uint8Array): Digest
  /** No validation at all, so tests can seed content the HTTP API would refuse. */
  putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Digest
  stop(): Promise<void>
}

type Route =
  | {kind: 'base'}
  | {kind: 'catalog'}
  | {kind: 'token'}
  | {kind: 'manifest'; name: string; reference: string}
  | {kind: 'blob'; name: string; digest: string}
  | {kind: 'uploads'; name: string}
  | {kind: 'upload'; name: string; id: string}
  | {kind: 'tags'; name: string}
  | {kind: 'referrers'; name: string; digest: string}

const REPOSITORY_ROUTES: [RegExp, (name: string, arg: string) => Route][] = [
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (name, reference) => ({kind: 'manifest', name, reference})],
  [/^\/v2\/(.+)\/blobs\/uploads\/?()$/, (name) => ({kind: 'uploads', name})],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (name, id) => ({kind: 'upload', name, id})],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (name, digest) => ({kind: 'blob', name, digest})],
  [/^\/v2\/(.+)\/tags\/list()$/, (name) => ({kind: 'tags', name})],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (name, digest) => ({kind: 'referrers', name, digest})],
]

function route(path: string, tokenPath: string | null): Route | null {
  if (path === tokenPath) return {kind: 'token'}
  if (path === '/v2/' || path === '/v2') return {kind: 'base'}
  if (path === '/v2/_catalog') return {kind: 'catalog'}
  for (const [pattern, make] of REPOSITORY_ROUTES) {
    const match = pattern.exec(path)
    if (match) return make(match[1]!, match[2] ?? '')
  }
  return null
}

/** The scopes a request needs, in Docker token terms. */
function accessFor(route: Route, method: string): Access[] {
  if (route.kind === 'base' || route.kind === 'token') return []
  if (route.kind === 'catalog') return [{resource: 'registry:catalog', actions: ['*']}]
  const resource = `repository:${route.name}`
  if (route.kind === 'uploads' || route.kind === 'upload') return [{resource, actions: ['pull', 'push']}]
  if (method === 'GET' || method === 'HEAD') return [{resource, actions: ['pull']}]
  if (method === 'DELETE' && (route.kind === 'manifest' || route.kind === 'blob')) {
    return [{resource, actions: ['delete']}]
  }
  return [{resource, actions: ['pull', 'push']}]
}

export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const storage = new Storage()
  const faults = new FaultSet()
  for (const spec of options.faults ?? []) faults.add(spec)
  const requests: RequestLogEntry[] = []
  const behaviour: BehaviourOptions = {
    strictAccept: options.strictAccept ?? true,
    relativeLocations: options.relativeLocations ?? false,
    referrers: options.referrers ?? 'none',
    referrersPageSize: options.referrersPageSize ?? null,
    tagsPageSize: options.tagsPageSize ?? null,
  }
  let baseUrl = ''
  let tokenUrl = ''
  const tokenService = options.tokenService ?? {kind: 'same-host'}
  // On another host, the registry itself serves no token path at all.
  const tokenPath = tokenService.kind === 'path' ? tokenService.path : tokenService.kind === 'same-host' ? '/token' : null
  const auth = new Authenticator(options.auth ?? {kind: 'none'}, () => `${tokenUrl}${tokenPath ?? '/token'}`)

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    const target = route(url.pathname, tokenPath)
    // Without the API the referrers path is an unknown route, answered before auth as distribution's router does.
    if (!target || (target.kind === 'referrers' && behaviour.referrers === 'none'))
      return new Response('404 page not found\n', {status: 404, headers: {'Content-Type': 'text/plain; charset=utf-8'}})
    if (target.kind === 'token') return auth.handleToken(request, url)
    const denied = auth.check(request, accessFor(target, request.method))
    if (denied) return denied
    if (target.kind === 'base') return Response.json({})
    if (target.kind === 'catalog') return Response.json({repositories: [...storage.repositories.keys()].sort()})
    if (!NAME_RE.test(target.name) || target.name.length > 255) {
      return ociError(400, 'NAME_INVALID', `invalid repository name "${target.name}"`)
    }
    const ctx: HandlerContext = {
      request,
      url,
      name: target.name,
      storage,
      auth,
      options: behaviour,
      location: (path) => (behaviour.relativeLocations ? path : `${baseUrl}${path}`),
    }
    return dispatch(ctx, target, request.method)
  }

  const server: Server<undefined> = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    // Bun's default idle timeout (10 s) would cut `delay` faults; 0 disables it and stop(true) closes sockets.
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const ctx: FaultContext = {request, method: request.method, path: url.pathname, query: url.searchParams}
      const entry: RequestLogEntry = {
        method: request.method,
        path: url.pathname,
        query: url.search.replace(/^\?/, ''),
        status: 0,
        authorization: authScheme(request),
        faults: [],
        range: request.headers.get('range'),
        contentRange: request.headers.get('content-range'),
      }
      requests.push(entry)
      const response = await faults.run(ctx, handle, entry.faults)
      entry.status = response.status
      return response
    },
    error(error) {
      return ociError(500, 'UNKNOWN', `fake registry bug: ${error.message}`)
    },
  })
  baseUrl = `http://127.0.0.1:${server.port}`
  tokenUrl = baseUrl
  const tokenServer = tokenService.kind === 'other-host' ? startTokenServer(auth, requests) : null
  if (tokenServer) tokenUrl = `http://127.0.0.1:${tokenServer.port}`

  return {
    host: `127.0.0.1:${server.port}`,
    url: baseUrl,
    tokenUrl,
    requests,
    tokenRequests: auth.tokenRequests,
    storage,
    count: (method, path) =>
      requests.filter((entry) => (method === '*' || entry.method === method) && (typeof path === 'string' ? entry.path === path : path.test(entry.path)))
        .length,
    addFault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    clearLog: () => {
      requests.length = 0
      auth.tokenRequests.length = 0
    },
    putBlob: (repo, bytes) => storage.putBlob(repo, bytes),
    putManifest: (repo, reference, bytes, mediaType) => storage.putManifest(repo, reference, bytes, mediaType),
    stop: async () => {
      await Promise.all([server.stop(true), tokenServer?.stop(true)])
    },
  }
}

/** The token endpoint on a host of its own (`/token` there); its requests are logged with the registry's. */
function startTokenServer(auth: Authenticator, requests: RequestLogEntry[]): Server<undefined> {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const response = url.pathname === '/token' ? await auth.handleToken(request, url) : new Response('not found', {status: 404})
      const entry = {
        method: request.method,
        path: `token-host:${url.pathname}`,
        query: '',
        authorization: authScheme(request),
        faults: [],
        range: null,
        contentRange: null,
      }
      requests.push({...entry, status: response.status})
      return response
    },
  })
}

async function dispatch(ctx: HandlerContext, target: Route, method: string): Promise<Response> {
  switch (target.kind) {
    case 'manifest': {
      if (!isDigest(target.reference) && !TAG_RE.test(target.reference)) {
        return ociError(400, 'TAG_INVALID', `invalid tag or digest "${target.reference}"`)
      }
      if (method === 'GET' || method === 'HEAD') return getManifest(ctx, target.reference)
      if (method === 'PUT') return putManifest(ctx, target.reference)
      if (method === 'DELETE') return deleteManifest(ctx, target.reference)
      break
    }
    case 'blob':
      if (method === 'GET' || method === 'HEAD') return getBlob(ctx, target.digest)
      if (method === 'DELETE') return deleteBlob(ctx, target.digest)
      break
    case 'uploads':
      if (method === 'POST') return startUpload(ctx)
      break
    case 'upload':
      if (method === 'PATCH') return patchUpload(ctx, target.id)
      if (method === 'PUT') return finishUpload(ctx, target.id)
      if (method === 'GET') return uploadStatus(ctx, target.id)
      if (method === 'DELETE') return cancelUpload(ctx, target.id)
      break
    case 'tags':
      if (method === 'GET') return listTags(ctx)
      break
    case 'referrers':
      if (method === 'GET') return listReferrers(ctx, target.digest)
      break
    default:
      break
  }
  return ociError(405, 'UNSUPPORTED', `${method} is not supported here`)
}
