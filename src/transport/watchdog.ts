/**
 * Idle timeouts for whole exchanges. A registry may take long to send a big blob or to accept one, which is fine
 * while bytes move; what must end is silence. The watchdog is touched on every chunk that moves, either way.
 */
import {NetworkError, networkFailureKind} from './errors.ts'
import type {FetchTls} from './tls.ts'

class IdleWatchdog {
  private timer: ReturnType<typeof setTimeout> | null = null
  private stopped = false

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.touch()
  }

  touch(): void {
    if (this.stopped) return
    // Re-arming the one timer costs less than a new one per chunk moved.
    if (this.timer) this.timer.refresh()
    else
      this.timer = setTimeout(() => {
        this.stopped = true
        this.onIdle()
      }, this.ms)
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}

/**
 * A pull-through copy of `source` that touches `dog` per chunk and calls `done` when it ends, fails or is
 * cancelled. highWaterMark 0 keeps backpressure: nothing is read ahead of the consumer.
 */
function watched(source: ReadableStream<Uint8Array>, dog: IdleWatchdog, done: () => void, mapError: (err: unknown) => unknown): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const {done: finished, value} = await reader.read()
          if (finished) {
            done()
            controller.close()
            return
          }
          dog.touch()
          controller.enqueue(value)
        } catch (err) {
          done()
          controller.error(mapError(err))
        }
      },
      cancel(reason) {
        done()
        return reader.cancel(reason)
      },
    },
    {highWaterMark: 0},
  )
}

/**
 * Bodies this small by their Content-Length (manifests, configs, tokens) are read whole, still under the
 * watchdog, as soon as the headers arrive: a stream pulled through JavaScript chunk by chunk cost more CPU than the
 * request itself when a plan makes tens of thousands of them. Not when encoded: the length is then not the size.
 */
const SMALL_BODY_BYTES = 64 * 1024

/** Statuses whose responses cannot carry a body (constructing one with a body throws). */
const NULL_BODY_STATUS: ReadonlySet<number> = new Set([101, 204, 205, 304])

/**
 * fetch with an idle timeout over the whole exchange: it fires when no byte moved for `timeoutMs`, whether
 * we were sending a body, waiting for headers or reading the response. The caller's signal aborts it all.
 */
export async function fetchWithIdleTimeout(url: string, init: RequestInit, timeoutMs: number, tls: FetchTls | null): Promise<Response> {
  const method = init.method ?? 'GET'
  const outer = init.signal
  if (outer?.aborted) throw new NetworkError({method, url, kind: 'aborted', cause: outer.reason})
  const controller = new AbortController()
  let timedOut = false
  const dog = new IdleWatchdog(timeoutMs, () => {
    timedOut = true
    controller.abort()
  })
  const unlisten = outer ? onAbort(outer, (reason) => controller.abort(reason)) : null
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    dog.stop()
    unlisten?.()
  }
  const fail = (err: unknown) =>
    err instanceof NetworkError
      ? err
      : new NetworkError({method, url, kind: timedOut ? 'timeout' : outer?.aborted ? 'aborted' : networkFailureKind(err), cause: err})
  // An error of our own request body (e.g. bytes that failed verification) is reported as itself.
  let bodyError: unknown = null
  const keep = (err: unknown) => (bodyError = err)
  const body = init.body instanceof ReadableStream ? watched(init.body, dog, () => {}, keep) : init.body
  let response: Response
  try {
    response = await fetch(url, {...init, body, signal: controller.signal, ...(tls ? {tls} : {})})
  } catch (err) {
    finish()
    throw bodyError ?? fail(err)
  }
  dog.touch()
  if (!response.body || method === 'HEAD' || NULL_BODY_STATUS.has(response.status)) {
    finish()
    return response
  }
  const answer: ResponseInit = {status: response.status, statusText: response.statusText, headers: response.headers}
  if (Number(response.headers.get('content-length') ?? Number.NaN) <= SMALL_BODY_BYTES && !response.headers.has('content-encoding'))
    return readWhole(response, answer, finish, fail)
  return new Response(watched(response.body, dog, finish, fail), answer)
}

/** The body read at once; a failure to read it still comes from reading the body, as with a streamed one. */
async function readWhole(response: Response, init: ResponseInit, finish: () => void, fail: (err: unknown) => unknown): Promise<Response> {
  try {
    return new Response(await response.bytes(), init)
  } catch (err) {
    const error = fail(err)
    return new Response(new ReadableStream({start: (controller) => controller.error(error)}), init)
  } finally {
    finish()
  }
}

/**
 * A run's requests share its signal: one listener on it aborts every request in flight, where a listener added
 * and removed per request cost more than the rest of the watchdog. Returns the way to stop listening.
 */
const aborters = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>()
function onAbort(signal: AbortSignal, abort: (reason: unknown) => void): () => void {
  let listeners = aborters.get(signal)
  if (!listeners) {
    const all = new Set<(reason: unknown) => void>()
    signal.addEventListener(
      'abort',
      () => {
        for (const listener of [...all]) listener(signal.reason)
      },
      {once: true},
    )
    aborters.set(signal, all)
    listeners = all
  }
  listeners.add(abort)
  return () => listeners.delete(abort)
}
