/**
 * Scripted faults for the fake registry: the failures a real registry produces only under load or by accident
 * (429 with Retry-After, 5xx, reset connections, missing or lying digests, slow answers, refused mounts).
 *
 * A fault is a predicate (method, path, optional `when`), a remaining count, and an action written as middleware:
 * `(ctx, next) => Response`. An action can answer by itself (a 503), call `next()` and alter the real answer
 * (drop a header, corrupt a byte), or call `next(otherRequest)` to change what the registry sees (strip `mount`).
 * Faults are checked in the order they were added and all matching ones apply, outermost first, so
 * `delay` + `omitDigestHeader` compose. Faults wrap everything, authentication included.
 */
import {ociError} from './errors.ts'

export interface FaultContext {
  request: Request
  method: string
  path: string
  query: URLSearchParams
}

export type Next = (request?: Request) => Promise<Response>
export type FaultAction = (ctx: FaultContext, next: Next) => Response | Promise<Response>

/** Which requests a fault applies to, and how many times. Everything is optional: no filter matches all. */
export interface Where {
  /** One method or several, upper case. */
  method?: string | string[]
  /** A RegExp tested against the path (no query), or an exact path. */
  path?: RegExp | string
  when?: (ctx: FaultContext) => boolean
  /** How many matching requests get the fault. Default 1; `Infinity` for all. */
  times?: number
}

export interface FaultSpec extends Where {
  /** Shown in the request log, for debugging a test. */
  name?: string
  action: FaultAction
}

/** A live fault, as returned by `registry.addFault`: tests can read how often it fired. */
export interface Fault {
  readonly name: string
  readonly hits: number
  readonly remaining: number
}

class LiveFault implements Fault {
  hits = 0
  remaining: number
  readonly name: string
  constructor(readonly spec: FaultSpec) {
    this.remaining = spec.times ?? 1
    this.name = spec.name ?? 'fault'
  }

  matches(ctx: FaultContext): boolean {
    const {method, path, when} = this.spec
    if (this.remaining <= 0) return false
    if (method !== undefined && !(Array.isArray(method) ? method : [method]).includes(ctx.method)) return false
    if (path instanceof RegExp && !path.test(ctx.path)) return false
    if (typeof path === 'string' && path !== ctx.path) return false
    return when === undefined || when(ctx)
  }
}

export class FaultSet {
  private faults: LiveFault[] = []

  add(spec: FaultSpec): Fault {
    const fault = new LiveFault(spec)
    this.faults.push(fault)
    return fault
  }

  clear(): void {
    this.faults = []
  }

  /**
   * Runs `handler` behind every matching fault. Counts are taken when the request arrives, so a fault with
   * `times: 2` hits exactly the first two matching requests even if they overlap in time.
   * `fired` receives the names of the faults applied, for the request log.
   */
  run(ctx: FaultContext, handler: (request: Request) => Promise<Response>, fired: string[]): Promise<Response> {
    const matching = this.faults.filter((fault) => fault.matches(ctx))
    for (const fault of matching) {
      fault.remaining--
      fault.hits++
      fired.push(fault.name)
    }
    const step = (index: number, request: Request): Promise<Response> => {
      const fault = matching[index]
      if (!fault) return handler(request)
      const inner: FaultContext = {...ctx, request}
      return Promise.resolve(fault.spec.action(inner, (next = request) => step(index + 1, next)))
    }
    return step(0, ctx.request)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Named constructors for the common cases. Each takes a `Where`; pass `times` for "the first N".

/** Answers with `status` and an OCI error body, without reaching the registry. */
export function respondWith(status: number, where: Where = {}, headers: Record<string, string> = {}): FaultSpec {
  const code = status === 429 ? 'TOOMANYREQUESTS' : status === 503 ? 'UNAVAILABLE' : 'UNKNOWN'
  return {
    name: `respond ${status}`,
    ...where,
    action: () => ociError(status, code, `injected ${status}`, undefined, headers),
  }
}

/**
 * A registry that quotes our credentials back: refuses (400 MANIFEST_INVALID) a request that carried an
 * Authorization header, its error message holding the header as sent and, for Basic, the decoded password.
 * Each header it echoed is pushed onto `echoed`, so a test can look for the bearer tokens it never saw.
 */
export function echoCredentials(where: Where = {}, echoed: string[] = []): FaultSpec {
  return {
    name: 'echo credentials',
    ...where,
    when: (ctx) => ctx.request.headers.has('authorization') && (where.when?.(ctx) ?? true),
    action: (ctx) => {
      const header = ctx.request.headers.get('authorization')!
      echoed.push(header)
      const basic = /^Basic (.+)$/i.exec(header)
      const password = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').slice(1).join(':') : null
      return ociError(400, 'MANIFEST_INVALID', `refused the request with Authorization: ${header}${password !== null ? ` (password ${password})` : ''}`, {
        authorization: header,
      })
    },
  }
}

export function tooManyRequests(where: Where = {}, retryAfterSeconds = 1): FaultSpec {
  return {...respondWith(429, where, {'Retry-After': String(retryAfterSeconds)}), name: 'too many requests'}
}

export function serverError(where: Where = {}): FaultSpec {
  return {...respondWith(500, where), name: 'server error'}
}

export function serviceUnavailable(where: Where = {}): FaultSpec {
  return {...respondWith(503, where), name: 'service unavailable'}
}

/**
 * Breaks the connection. With `afterBytes` 0 (the default) the socket is reset before any response line,
 * so the client's fetch rejects (ECONNRESET). With `afterBytes` > 0 the status line, headers and that many body
 * bytes go out first and the reset comes mid-body, so `fetch` resolves and reading the body fails.
 * Bun quirks:
 *   - HEAD requests are never matched: Bun.serve does not read a HEAD response's body, so there is nothing to
 *     fail and no other way to drop the socket. Use `serviceUnavailable` or `delay` for HEAD.
 *   - a streamed body is sent chunked, so a mid-body reset comes without a Content-Length header;
 *   - Bun's `fetch` silently retries a GET or PUT (not a POST) once when a reused keep-alive connection is
 *     reset before the status line, so use `times: 2` to make an early reset reach the caller.
 */
export function resetConnection(where: Where = {}, afterBytes = 0): FaultSpec {
  return {
    name: 'reset connection',
    ...where,
    when: (ctx) => ctx.method !== 'HEAD' && (where.when?.(ctx) ?? true),
    action: async (_ctx, next) => {
      const response = await next()
      const body = new Uint8Array(await response.arrayBuffer()).subarray(0, afterBytes)
      let sent = false
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!sent && body.length > 0) {
            sent = true
            controller.enqueue(body)
            return
          }
          // `error(undefined)` makes Bun reset the socket without printing a stack trace into the test output.
          // Failing in the first pull resets before the status line; after a chunk, Bun needs a moment to flush
          // it (and the headers) first.
          if (sent) await Bun.sleep(10)
          controller.error(undefined)
        },
      })
      return new Response(stream, {status: response.status, headers: response.headers})
    },
  }
}

/** Waits `ms` before letting the request through, for client timeout tests. */
export function delay(ms: number, where: Where = {}): FaultSpec {
  return {
    name: `delay ${ms}ms`,
    ...where,
    action: async (_ctx, next) => {
      await Bun.sleep(ms)
      return next()
    },
  }
}

/** Removes `Docker-Content-Digest` from manifest answers (HEAD and GET by default). */
export function omitDigestHeader(where: Where = {}): FaultSpec {
  return {
    name: 'omit Docker-Content-Digest',
    method: ['HEAD', 'GET'],
    path: /\/manifests\/[^/]+$/,
    ...where,
    action: async (_ctx, next) => {
      const response = await next()
      const headers = new Headers(response.headers)
      headers.delete('docker-content-digest')
      return rebuild(response, headers, await response.arrayBuffer())
    },
  }
}

/** Flips one byte in the body and keeps every header, so the body no longer matches its digest. */
export function corruptBody(where: Where = {}): FaultSpec {
  return {
    name: 'corrupt body',
    method: 'GET',
    ...where,
    action: async (_ctx, next) => {
      const response = await next()
      const bytes = new Uint8Array(await response.arrayBuffer())
      if (response.ok && bytes.length > 0) {
        const middle = Math.floor(bytes.length / 2)
        bytes[middle] = bytes[middle]! ^ 0x01
      }
      return rebuild(response, new Headers(response.headers), bytes)
    },
  }
}

/** GET of a manifest returns bytes that do not hash to the digest in the URL or the header. */
export function corruptManifest(where: Where = {}): FaultSpec {
  return {...corruptBody({path: /\/manifests\/[^/]+$/, ...where}), name: 'corrupt manifest'}
}

/** GET of a blob returns bytes that do not hash to its digest. */
export function corruptBlob(where: Where = {}): FaultSpec {
  return {...corruptBody({path: /\/blobs\/[a-z0-9]+:[a-f0-9]+$/, ...where}), name: 'corrupt blob'}
}

/**
 * The registry ignores `?mount=&from=` and opens an ordinary upload (202), as registries do when the source
 * repository is not readable or cross-repository mounting is disabled.
 */
export function refuseMount(where: Where = {}): FaultSpec {
  return {
    name: 'refuse mount',
    method: 'POST',
    path: /\/blobs\/uploads\/?$/,
    when: (ctx) => ctx.query.has('mount'),
    ...where,
    action: async (ctx, next) => {
      const url = new URL(ctx.request.url)
      url.searchParams.delete('mount')
      url.searchParams.delete('from')
      const {method, headers} = ctx.request
      return next(new Request(url.href, {method, headers, body: await ctx.request.arrayBuffer()}))
    },
  }
}

/**
 * A manifest PUT refused with the OCI `code` (400), without reaching the registry: what distribution answers
 * while another writer rewrites the link of a blob or child manifest the PUT references.
 */
export function refuseManifestPut(code: 'MANIFEST_BLOB_UNKNOWN' | 'BLOB_UNKNOWN' | 'DIGEST_INVALID' | 'MANIFEST_UNKNOWN', where: Where = {}): FaultSpec {
  return {
    name: `refuse manifest PUT: ${code}`,
    method: 'PUT',
    path: /\/manifests\/[^/]+$/,
    ...where,
    action: () => ociError(400, code, 'blob unknown to registry'),
  }
}

/**
 * A copy of `response` with other headers or body. An empty body becomes `null`: for HEAD, Bun keeps an explicit
 * Content-Length only when the body is null (an empty buffer would be sent as `content-length: 0`).
 */
function rebuild(response: Response, headers: Headers, body: ArrayBuffer | Uint8Array): Response {
  return new Response(body.byteLength === 0 ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  })
}
