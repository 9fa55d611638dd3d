/**
 * Chunked blob uploads (distribution spec: PATCH with `Content-Range: START-END` per chunk, 202 with Location and
 * `Range: 0-END`, then `PUT ?digest=` without a body), for registries or proxies that refuse one large PUT (413)
 * and for --chunk-size. The source stream is read once, in order; only the chunk in flight is held in memory, so
 * that it can be sent again. A chunk cut short by a reset or a 5xx continues from the offset the registry reports
 * (`GET <location>` → 204 with `Range`) when that offset lies within the chunk; otherwise the upload fails, the
 * caller abandons the session, and the copy engine starts over. The registry checks `?digest=` against all it
 * received, so no attempt stores a blob under a digest its bytes do not have.
 */
import type {Digest} from '../../ref/digest.ts'
import {MAX_ECHO_CHARS, quoted} from '../../ref/text.ts'
import {RegistryError} from '../../transport/errors.ts'
import {redactUrl} from '../../transport/redact.ts'
import {backoff} from '../../transport/retry.ts'
import {isTemporary} from '../../transport/temporary.ts'
import {CollectionHint} from './blob-read.ts'
import {pushScope, type RemoteRepository} from './connection.ts'

/** Recoveries (status check, rest of a chunk sent again) per blob, across its chunks. */
export const MAX_CHUNK_RECOVERIES = 5

/** Sends `body` to the session at `location` in chunks of `chunkSize`, then completes it with `PUT ?digest=`. */
export async function uploadInChunks(
  handle: RemoteRepository,
  location: string,
  blob: {digest: Digest; body: ReadableStream<Uint8Array>},
  chunkSize: number,
  signal?: AbortSignal,
): Promise<void> {
  const budget = {used: 0}
  let at = location
  let offset = 0
  for await (const chunk of chunksOf(blob.body, chunkSize)) {
    at = await sendChunk(handle, at, chunk, offset, budget, signal)
    offset += chunk.byteLength
  }
  await completeUpload(handle, at, blob.digest, null, signal)
}

/**
 * Completes an upload session with `PUT ?digest=`: carrying the whole blob as a stream, with its length announced
 * (a monolithic upload; registries backed by object stores refuse chunked transfer encoding), or without a body
 * after PATCH chunks. A body is never retried here: a stream cannot be sent twice.
 */
export async function completeUpload(
  handle: RemoteRepository,
  location: string,
  digest: Digest,
  content: {size: number; body: ReadableStream<Uint8Array>} | null,
  signal?: AbortSignal,
): Promise<void> {
  const url = new URL(location)
  url.searchParams.set('digest', digest)
  const response = await handle.connection.send(handle.repo, {
    method: 'PUT',
    path: url.pathname,
    url: url.toString(),
    headers: content ? {'content-type': 'application/octet-stream', 'content-length': String(content.size)} : {'content-length': '0'},
    ...(content ? {body: () => content.body, retry: false} : {}),
    scopes: [pushScope(handle.repo)],
    signal,
  })
  await response.body?.cancel()
}

/**
 * The stream cut into chunks of `size` (the last may be shorter), each a view of one reused buffer: the caller
 * must be done with a chunk before asking for the next. Reading to the end lets the stream's own checks (the
 * engine's digest) fail before the upload is completed.
 */
async function* chunksOf(body: ReadableStream<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const reader = body.getReader()
  const buffer = new Uint8Array(size)
  let filled = 0
  let finished = false
  const hint = new CollectionHint()
  try {
    for (;;) {
      const {done, value} = await reader.read()
      if (done) break
      // Copied pieces are garbage, and a chunk is read in one burst: unhinted, a 64 MiB chunk left ~64 MiB of them.
      hint.note(value.byteLength)
      for (let piece = value; piece.byteLength > 0; ) {
        const n = Math.min(piece.byteLength, size - filled)
        buffer.set(piece.subarray(0, n), filled)
        filled += n
        piece = piece.subarray(n)
        if (filled === size) {
          hint.collect()
          yield buffer
          filled = 0
        }
      }
    }
    finished = true
    if (filled > 0) yield buffer.subarray(0, filled)
  } finally {
    // Given up half-way: release the source (its connection) instead of leaving it to the garbage collector.
    if (!finished) await reader.cancel().catch(() => {})
  }
}

/**
 * PATCHes `chunk` (bytes `start`…) and returns the session's next Location. After a temporary failure (or a 416:
 * a replay that met bytes the registry had already taken), asks the registry how much it holds and sends the rest.
 */
async function sendChunk(
  handle: RemoteRepository,
  location: string,
  chunk: Uint8Array,
  start: number,
  budget: {used: number},
  signal?: AbortSignal,
): Promise<string> {
  let at = location
  let from = start
  for (;;) {
    try {
      return await patch(handle, at, chunk.subarray(from - start), from, signal)
    } catch (err) {
      if (signal?.aborted || budget.used >= MAX_CHUNK_RECOVERIES || !recoverable(err)) throw err
      budget.used++
      const {pace} = handle.connection
      await backoff(pace, pace.retry, budget.used, {retryAfter: err instanceof RegistryError ? err.retryAfter : null, signal})
      const status = await uploadStatus(handle, at, signal).catch(() => null)
      // The registry holds less than this chunk's start (we cannot send it again) or more than we sent: start over.
      if (status === null || status.received < start || status.received > start + chunk.byteLength) throw err
      at = status.location
      from = status.received
      if (from === start + chunk.byteLength) return at
    }
  }
}

async function patch(handle: RemoteRepository, location: string, bytes: Uint8Array, from: number, signal?: AbortSignal): Promise<string> {
  const response = await handle.connection.send(handle.repo, {
    method: 'PATCH',
    path: new URL(location).pathname,
    url: location,
    headers: {
      'content-type': 'application/octet-stream',
      'content-range': `${from}-${from + bytes.byteLength - 1}`,
      'content-length': String(bytes.byteLength),
    },
    body: () => slices(bytes),
    scopes: [pushScope(handle.repo)],
    // Sent again only after asking the registry what it holds (sendChunk), never blindly.
    retry: false,
    signal,
  })
  await response.body?.cancel()
  const end = rangeEndOf(response)
  if (end !== null && end !== from + bytes.byteLength - 1) {
    throw new RegistryError({
      method: 'PATCH',
      url: location,
      status: response.status,
      reason: `the registry holds bytes 0-${end} after a chunk that ends at ${from + bytes.byteLength - 1}`,
    })
  }
  return nextLocation(handle, response, location, 'PATCH')
}

/** Piece size of a chunk's request body. */
const SLICE = 256 * 1024

/**
 * A chunk as a stream of slices rather than one buffer: Bun copies a byte-array body whole into its own request
 * buffer (a second 64 MiB per 64 MiB chunk, freed only by a later GC), where a stream is written as it is read.
 */
function slices(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (at >= bytes.byteLength) return controller.close()
        controller.enqueue(bytes.subarray(at, Math.min(bytes.byteLength, at + SLICE)))
        at += SLICE
      },
    },
    {highWaterMark: 0},
  )
}

/** `GET <location>`: how many bytes the session holds (204 with `Range: 0-END`), and where it goes on. */
async function uploadStatus(handle: RemoteRepository, location: string, signal?: AbortSignal): Promise<{received: number; location: string} | null> {
  const response = await handle.connection.send(handle.repo, {
    method: 'GET',
    path: new URL(location).pathname,
    url: location,
    scopes: [pushScope(handle.repo)],
    signal,
  })
  await response.body?.cancel()
  const end = rangeEndOf(response)
  // distribution says `0-0` for an empty session as for a one-byte one: read as empty, since a byte sent again is
  // refused (416) and ends in a fresh transfer, never in a stored blob.
  return end === null ? null : {received: end === 0 ? 0 : end + 1, location: nextLocation(handle, response, location, 'GET')}
}

/** The last byte a session holds, from `Range: 0-END` (inclusive). */
function rangeEndOf(response: Response): number | null {
  const match = /^(?:bytes=)?0-(\d+)$/.exec(response.headers.get('range')?.trim() ?? '')
  return match ? Number(match[1]) : null
}

/** A session may move with every answer (distribution's `_state`); a missing Location means it stays. */
function nextLocation(handle: RemoteRepository, response: Response, current: string, method: 'PATCH' | 'GET'): string {
  const location = response.headers.get('location')
  return location ? sessionUrl(handle, location, {method, url: current, status: response.status}) : current
}

/**
 * A session's Location as an absolute URL (registries may answer with a path), checked like a redirect: only
 * https, or http where plain HTTP is allowed. Followed, a `file:` Location made fetch write the blob to the local
 * disk and the upload look done; refused, the blob fails here, naming the answer that gave it.
 */
export function sessionUrl(handle: RemoteRepository, location: string, answer: {method: string; url: string; status: number}): string {
  const base = `${handle.connection.baseUrl(handle.repo)}/`
  const url = URL.canParse(location, base) ? new URL(location, base).toString() : null
  if (url !== null && handle.connection.mayFollow(url)) return url
  const shown = quoted(url === null ? location : redactUrl(url), MAX_ECHO_CHARS)
  throw new RegistryError({
    ...answer,
    reason: `refusing the upload session Location ${shown}: only https session URLs are followed (http only on loopback or --insecure-registry hosts)`,
  })
}

/**
 * 416: the registry refused the range of a chunk sent again, having taken some of its bytes already. Not a
 * temporary failure (the same PATCH is refused again), but the session's status says where to go on from.
 */
const RANGE_REFUSED = 416

/** Worth asking the registry where the session stands: a temporary failure, or a range it refused. */
function recoverable(err: unknown): boolean {
  return isTemporary(err) || (err instanceof RegistryError && err.status === RANGE_REFUSED)
}
