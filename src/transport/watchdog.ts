/**
 * Idle timeouts for whole exchanges. A registry may take long to send a big blob or to accept one, which is fine
 * while bytes move; what must end is silence. The watchdog is touched on every chunk that moves, either way.
 */
export class IdleWatchdog {
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
    if (this.timer) clearTimeout(this.timer)
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
export function watched(source: ReadableStream<Uint8Array>, dog: IdleWatchdog, done: () => void, mapError: (err: unknown) => unknown): ReadableStream<Uint8Array> {
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
