/**
 * SIGINT/SIGTERM → an AbortSignal the domain call honours: in-flight requests are aborted and nothing
 * half-copied is tagged. The entry point (cli.ts) enforces the deadline to exit.
 */
export function interruption(): {signal: AbortSignal; dispose(): void} {
  const controller = new AbortController()
  const onSignal = () => controller.abort(new Error('interrupted'))
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
