/**
 * The frame of the tests' TCP proxies: each client connection paired with one to the upstream, both tracked so
 * `stop` can end them, the server on a free loopback port. What passes between the two is the caller's `pair`.
 */
import {connect, createServer, type Socket} from 'node:net'

export interface TcpProxy {
  /** `127.0.0.1:PORT`. */
  readonly host: string
  stop(): Promise<void>
}

/** `lingerMs`: how long a side stays open after the other closed, for bytes still held on their way (latency-proxy.ts). */
export async function startTcpProxy(
  upstream: {hostname: string; port: number},
  pair: (client: Socket, upstream: Socket) => void,
  lingerMs = 0,
): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const up = connect(upstream.port, upstream.hostname)
    for (const s of [client, up]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    pair(client, up)
    const later = (end: () => void) => (lingerMs > 0 ? () => setTimeout(end, lingerMs) : end)
    client.on(
      'close',
      later(() => up.destroy()),
    )
    up.on(
      'close',
      later(() => client.destroy()),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address')
  return {
    host: `127.0.0.1:${address.port}`,
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
