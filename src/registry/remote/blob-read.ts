/**
 * Blob reads that survive a broken connection. When the body of a blob GET fails with a temporary network error
 * (a reset, an idle timeout) after N bytes, the read goes on with `GET … Range: bytes=N-` and splices the rest
 * into the same stream, so a reset at 70 % of a multi-GB layer costs one round trip instead of 70 % of the
 * layer again. Only a 206 whose Content-Range starts at N and agrees on the length is spliced in: a source that
 * ignores ranges (200) or answers another range gets the original error, and the copy engine starts the
 * transfer over as before. The consumer hashes the whole blob either way, so a wrong resumed byte is refused.
 *
 * No If-Range is sent: a blob is addressed by its digest, so its bytes cannot change between the two requests.
 * The Range request goes to the registry again, which redirects it to storage afresh (a signed storage URL of
 * the first answer may have expired).
 */
import type {Digest} from '../../ref/digest.ts'
import {backoff} from '../../transport/retry.ts'
import {isTemporary} from '../../transport/temporary.ts'
import {ContentError} from '../errors.ts'
import {pullScope, type RemoteRepository} from './connection.ts'

type BlobReader = ReturnType<typeof readerOf>

/** Bytes streamed between garbage-collection hints, and at least between full collections (see CollectionHint). */
const GC_HINT_BYTES = 8 * 1024 * 1024
const GC_COLLECT_BYTES = 32 * 1024 * 1024

/**
 * Keeps the garbage of a blob streamed through JavaScript small. Each piece of a blob body is garbage once passed
 * on, and at loopback speeds pieces pile up faster than JSC collects them: a 2 GiB copy peaked at ~155 MiB RSS
 * without hints, ~112 with a hint (Bun.gc(false), about a microsecond) every 8 MiB. An upload chunk is read in one
 * burst and then held while it is sent: a full collection before sending (a few ms, at most once per 32 MiB) took
 * the 64 MiB-chunk peak from 155–254 MiB to 155–161.
 */
export class CollectionHint {
  private sinceHint = 0
  private sinceCollect = 0

  note(bytes: number): void {
    this.sinceHint += bytes
    this.sinceCollect += bytes
    if (this.sinceHint < GC_HINT_BYTES) return
    this.sinceHint = 0
    Bun.gc(false)
  }

  /** Before holding what was read for a while: a full collection, if enough was read since the last one. */
  collect(): void {
    if (this.sinceCollect < GC_COLLECT_BYTES) return
    this.sinceCollect = 0
    Bun.gc(true)
  }
}

/** Resumes per read: a link that breaks more often than this will not carry the blob today; the engine decides. */
export const MAX_RESUMES = 5

/**
 * The blob's bytes as one stream, resumed with Range requests when the connection breaks. Nothing is read ahead
 * of the consumer (highWaterMark 0): the body stays a pull-through, as without resumption.
 */
export async function readBlob(handle: RemoteRepository, digest: Digest, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const first = await requestBlob(handle, digest, null, signal)
  if (!first.body) throw new ContentError('DIGEST_MISMATCH', `blob ${digest} was served without a body`)
  let reader = readerOf(first.body)
  let total = lengthOf(first)
  let offset = 0
  let resumes = 0
  const hint = new CollectionHint()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          let read: Awaited<ReturnType<BlobReader['read']>>
          try {
            read = await reader.read()
          } catch (err) {
            if (!isTemporary(err) || resumes >= MAX_RESUMES || signal?.aborted) throw err
            resumes++
            await backoff(handle.connection.pace, handle.connection.pace.retry, resumes, {signal})
            const resumed = await resume(handle, digest, offset, total, signal)
            // The source cannot continue where we are: the original failure stands, and the engine starts over.
            if (!resumed) throw err
            reader = resumed.reader
            total = resumed.total
            continue
          }
          if (read.done) return controller.close()
          offset += read.value.byteLength
          hint.note(read.value.byteLength)
          return controller.enqueue(read.value)
        }
      },
      cancel(reason) {
        return reader.cancel(reason)
      },
    },
    {highWaterMark: 0},
  )
}

/**
 * GETs the rest of the blob from `offset`. Null when the answer does not continue it: a 200 (the source ignores
 * ranges; at offset 0 it is the whole blob and serves), another range or length, or a failed request.
 */
async function resume(
  handle: RemoteRepository,
  digest: Digest,
  offset: number,
  total: number | null,
  signal?: AbortSignal,
): Promise<{reader: BlobReader; total: number | null} | null> {
  let response: Response
  try {
    response = await requestBlob(handle, digest, offset, signal)
  } catch {
    return null
  }
  const range = response.status === 206 ? contentRangeOf(response) : null
  const continues =
    range !== null
      ? range.start === offset && range.end === range.total - 1 && (total === null || range.total === total)
      : response.status === 200 && offset === 0
  if (!continues || !response.body) {
    await response.body?.cancel()
    return null
  }
  return {reader: readerOf(response.body), total: range?.total ?? lengthOf(response)}
}

/** A blob GET, from `from` on when given. Redirects to storage are followed by the transport. */
function requestBlob(handle: RemoteRepository, digest: Digest, from: number | null, signal?: AbortSignal): Promise<Response> {
  const {repo} = handle
  return handle.connection.send(repo, {
    method: 'GET',
    path: `/v2/${repo.repository}/blobs/${digest}`,
    ...(from !== null ? {headers: {range: `bytes=${from}-`}} : {}),
    scopes: [pullScope(repo)],
    signal,
  })
}

function readerOf(body: ReadableStream<Uint8Array>) {
  return body.getReader()
}

function lengthOf(response: Response): number | null {
  const value = response.headers.get('content-length')
  return value !== null && /^\d+$/.test(value) ? Number(value) : null
}

/** `Content-Range: bytes START-END/TOTAL` (RFC 9110 §14.4); an unknown total (`*`) does not say enough. */
function contentRangeOf(response: Response): {start: number; end: number; total: number} | null {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range')?.trim() ?? '')
  return match ? {start: Number(match[1]), end: Number(match[2]), total: Number(match[3])} : null
}
