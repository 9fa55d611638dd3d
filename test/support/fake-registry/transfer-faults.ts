/**
 * Faults of large transfers, beside the general ones in faults.ts: a front that refuses large request bodies (413),
 * a connection reset after the registry took part of an upload chunk, and a source that ignores `Range`.
 */
import type {FaultSpec, Where} from './faults.ts'

/** Blob upload requests: POST (monolithic), PATCH (a chunk), PUT (the end of a session). */
const UPLOADS = /\/blobs\/uploads\//

/**
 * A proxy in front of the registry that refuses request bodies over `limit` bytes with 413, as nginx's
 * `client_max_body_size` does, for every matching request unless `times` says otherwise. The body is read
 * first, so the client sees the answer instead of a reset.
 */
export function refuseLargeBody(limit: number, where: Where = {}): FaultSpec {
  return {
    name: `refuse body over ${limit} bytes`,
    method: 'PUT',
    path: UPLOADS,
    times: Infinity,
    ...where,
    when: (ctx) => Number(ctx.request.headers.get('content-length') ?? 0) > limit && (where.when?.(ctx) ?? true),
    action: async (ctx) => {
      await ctx.request.arrayBuffer()
      return new Response('<html><body><h1>413 Request Entity Too Large</h1></body></html>\n', {status: 413, headers: {'Content-Type': 'text/html'}})
    },
  }
}

/**
 * The connection breaks after the registry appended the first `fraction` of an upload chunk: the chunk's first
 * part goes to the registry (which records it), then the socket is reset before any answer, so the client must
 * ask the session's status to know where to go on.
 */
export function resetMidChunk(where: Where = {}, fraction = 0.5): FaultSpec {
  return {
    name: 'reset mid-chunk',
    method: 'PATCH',
    path: UPLOADS,
    ...where,
    action: async (ctx, next) => {
      const body = new Uint8Array(await ctx.request.arrayBuffer())
      const taken = body.subarray(0, Math.floor(body.byteLength * fraction))
      const headers = new Headers(ctx.request.headers)
      headers.delete('content-length')
      await next(new Request(ctx.request.url, {method: 'PATCH', headers, body: taken}))
      // `error(undefined)` in the first pull resets the socket before the status line (see resetConnection).
      return new Response(new ReadableStream({pull: (controller) => controller.error(undefined)}))
    },
  }
}

/** The source answers a ranged blob GET with the whole blob (200), as a server that does not do ranges. */
export function ignoreRanges(where: Where = {}): FaultSpec {
  return {
    name: 'ignore Range',
    method: 'GET',
    path: /\/blobs\/[a-z0-9]+:[a-f0-9]+$/,
    times: Infinity,
    ...where,
    when: (ctx) => ctx.request.headers.has('range') && (where.when?.(ctx) ?? true),
    action: (ctx, next) => {
      const headers = new Headers(ctx.request.headers)
      headers.delete('range')
      return next(new Request(ctx.request.url, {method: 'GET', headers}))
    },
  }
}

/**
 * The answer's `Location` replaced by `location`, for upload requests (the POST that opens a session, by default):
 * a registry that sends the client elsewhere to go on, e.g. to `file:///tmp/x`.
 */
export function moveUploadSession(location: string, where: Where = {}): FaultSpec {
  return {
    name: `move upload session to ${location}`,
    method: 'POST',
    path: UPLOADS,
    ...where,
    action: async (_ctx, next) => {
      const response = await next()
      const headers = new Headers(response.headers)
      headers.set('location', location)
      return new Response(response.body, {status: response.status, statusText: response.statusText, headers})
    },
  }
}
