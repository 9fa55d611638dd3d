/**
 * A loopback TCP proxy that forwards bytes unchanged and records how each connection opened: with a TLS record
 * (a ClientHello) or with anything else (a plain-HTTP request line). A TLS-only server cannot say what it was
 * sent; this can, so tests can prove that a port speaking TLS never received plain HTTP from us.
 */
import {connect, createServer, type Socket} from 'node:net'

export interface OpeningBytesProxy {
  /** `127.0.0.1:PORT`. */
  readonly host: string
  /** Per connection, in order: `tls`, or the first line of what was sent (e.g. `GET /v2/ HTTP/1.1`). */
  readonly openings: string[]
  stop(): Promise<void>
}

export async function startOpeningBytesProxy(upstreamPort: number): Promise<OpeningBytesProxy> {
  const openings: string[] = []
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    let first = true
    client.on('data', (data: Buffer) => {
      if (first) openings.push(data[0] === 22 ? 'tls' : data.toString('latin1').split('\r\n')[0]!)
      first = false
      upstream.write(data)
    })
    upstream.on('data', (data: Buffer) => client.write(data))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address')
  return {
    host: `127.0.0.1:${address.port}`,
    openings,
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
