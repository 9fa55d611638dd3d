/**
 * A loopback TCP proxy that holds every chunk `oneWayMs` in each direction before passing it on, unchanged: a
 * registry behind it is a round trip of 2 × oneWayMs away, as one across a network is. Chunks keep their order
 * (equal delays fire in order). A paused side is not propagated as backpressure: fine for benchmarks on one
 * machine, where what is held is at most what a round trip carries.
 */
import type {Socket} from 'node:net'
import {startTcpProxy, type TcpProxy} from './tcp-proxy.ts'

export function startLatencyProxy(upstream: {hostname: string; port: number}, oneWayMs: number): Promise<TcpProxy> {
  return startTcpProxy(
    upstream,
    (client, up) => {
      forwardLate(client, up, oneWayMs)
      forwardLate(up, client, oneWayMs)
    },
    oneWayMs + 5,
  )
}

function forwardLate(from: Socket, to: Socket, ms: number): void {
  from.on('data', (chunk) => {
    if (ms <= 0) to.write(chunk)
    else setTimeout(() => to.writable && to.write(chunk), ms)
  })
  // The end travels as late as the bytes before it.
  from.on('end', () => setTimeout(() => to.end(), ms))
}
