/**
 * A loopback TCP proxy that forwards bytes unchanged and records how each connection opened: with a TLS record
 * (a ClientHello) or with anything else (a plain-HTTP request line). A TLS-only server cannot say what it was
 * sent; this can, so tests can prove that a port speaking TLS never received plain HTTP from us.
 */
import {startTcpProxy} from './tcp-proxy.ts'

export interface OpeningBytesProxy {
  /** `127.0.0.1:PORT`. */
  readonly host: string
  /** Per connection, in order: `tls`, or the first line of what was sent (e.g. `GET /v2/ HTTP/1.1`). */
  readonly openings: string[]
  stop(): Promise<void>
}

export async function startOpeningBytesProxy(upstreamPort: number): Promise<OpeningBytesProxy> {
  const openings: string[] = []
  const proxy = await startTcpProxy({hostname: '127.0.0.1', port: upstreamPort}, (client, upstream) => {
    let first = true
    client.on('data', (data: Buffer) => {
      if (first) openings.push(data[0] === 22 ? 'tls' : data.toString('latin1').split('\r\n')[0]!)
      first = false
      upstream.write(data)
    })
    upstream.on('data', (data: Buffer) => client.write(data))
  })
  return {...proxy, openings}
}
