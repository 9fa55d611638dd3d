/**
 * A loopback TCP proxy in front of a real registry that can cut a blob download short: it forwards bytes both
 * ways unchanged, watches the HTTP/1.1 exchanges go by, and, for the first blob GET that carries no `Range`,
 * lets the response headers and `cutAt(contentLength)` body bytes through, then destroys both sockets. The real
 * registry cannot be told to fail half-way; a dropped connection between it and the client is what a flaky
 * network does. It also logs each request (method, path, Range) and counts the body bytes it passed per
 * request, so tests and benchmarks can tell a resumed read (`Range: bytes=N-`) from a restart from 0.
 *
 * Assumes what Bun's fetch does: one request at a time per connection (no pipelining), request heads that
 * arrive in one read, Content-Length framed blob answers.
 */
import type {Socket} from 'node:net'
import {startTcpProxy} from './tcp-proxy.ts'

export interface ProxiedRequest {
  method: string
  path: string
  /** The `Range` request header, null when absent. */
  range: string | null
  /** Response body bytes passed to the client (all of them unless this one was cut). */
  bodyBytes: number
  cut: boolean
}

export interface CutProxy {
  /** `127.0.0.1:PORT`, the host to put in image references instead of the registry's. */
  readonly host: string
  readonly requests: ProxiedRequest[]
  stop(): Promise<void>
}

export interface CutProxyOptions {
  /** Body bytes of the first unranged blob GET's answer to let through before cutting; omit to never cut. */
  cutAt?: (contentLength: number) => number
  /** Which blob GETs may be cut, by path (default: any). */
  path?: RegExp
}

const REQUEST_HEAD = /^([A-Z]+) (\S+) HTTP\/1\.1\r\n([\s\S]*?)\r\n\r\n/
const BLOB_PATH = /^\/v2\/.+\/blobs\/[a-z0-9]+:[a-f0-9]+$/

export async function startCutProxy(upstreamHost: string, options: CutProxyOptions = {}): Promise<CutProxy> {
  const [hostname, port] = upstreamHost.split(':') as [string, string]
  const requests: ProxiedRequest[] = []
  let cutDone = options.cutAt === undefined

  const proxy = await startTcpProxy({hostname, port: Number(port)}, (client, upstream) => {
    // The exchange in flight on this connection, and how its response is being read.
    let current: ProxiedRequest | null = null
    let cutAfter: number | null = null
    let head = Buffer.alloc(0)
    let inBody = false

    client.on('data', (data: Buffer) => {
      const match = REQUEST_HEAD.exec(data.toString('latin1'))
      if (match) {
        const range = /^range:\s*(.+)$/im.exec(match[3]!)?.[1]?.trim() ?? null
        current = {method: match[1]!, path: match[2]!.split('?')[0]!, range, bodyBytes: 0, cut: false}
        requests.push(current)
        cutAfter =
          !cutDone && current.method === 'GET' && range === null && BLOB_PATH.test(current.path) && (options.path?.test(current.path) ?? true) ? -1 : null
        head = Buffer.alloc(0)
        inBody = false
      }
      forward(data, upstream, client)
    })
    upstream.on('data', (data: Buffer) => {
      let body = data
      if (!inBody) {
        head = Buffer.concat([head, data])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return forward(data, client, upstream)
        inBody = true
        body = head.subarray(end + 4)
        const text = head.subarray(0, end).toString('latin1')
        const length = Number(/^content-length:\s*(\d+)/im.exec(text)?.[1] ?? NaN)
        if (cutAfter === -1) cutAfter = /^HTTP\/1\.1 200/.test(text) && Number.isFinite(length) ? options.cutAt!(length) : null
        if (cutAfter !== null) cutDone = true
      }
      const request = current
      if (request && cutAfter !== null && request.bodyBytes + body.byteLength >= cutAfter) {
        // Let exactly `cutAfter` body bytes through, then drop both sides as a broken link would.
        const keep = body.subarray(0, cutAfter - request.bodyBytes)
        request.bodyBytes += keep.byteLength
        request.cut = true
        const headPart = data.byteLength - body.byteLength
        client.write(data.subarray(0, headPart + keep.byteLength), () => {
          client.destroy()
          upstream.destroy()
        })
        return
      }
      if (request) request.bodyBytes += body.byteLength
      forward(data, client, upstream)
    })
  })
  return {...proxy, requests}
}

/** Writes with backpressure: a slow reader pauses the other side instead of filling our memory. */
function forward(data: Buffer, to: Socket, from: Socket): void {
  if (!to.write(data)) {
    from.pause()
    to.once('drain', () => from.resume())
  }
}
