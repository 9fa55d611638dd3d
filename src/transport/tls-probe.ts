/**
 * Whether a port speaks TLS, asked without HTTP: Bun's fetch reports EPROTO both for a plain-HTTP server and for
 * a TLS server that refused the handshake (no client certificate), and only the first may be spoken to over
 * plain HTTP. A TLS server answers a ClientHello with a TLS record (ServerHello, HelloRetryRequest or an alert);
 * a plain-HTTP server answers with text or closes. No HTTP request and no credential is sent.
 */
import {connect} from 'node:net'

/** Bytes read before deciding; a TLS record header is five. */
const RECORD_HEADER = 5

/** true when `host:port` answered a ClientHello with a TLS record; false for anything else, silence included. */
export async function speaksTls(hostPort: string, timeoutMs: number): Promise<boolean> {
  const url = new URL(`https://${hostPort}`)
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 443)
  return new Promise<boolean>((resolve) => {
    const socket = connect({host: hostname, port})
    let seen = Buffer.alloc(0)
    const done = (answer: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.on('connect', () => socket.write(clientHello(hostname)))
    socket.on('data', (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk])
      if (seen.byteLength >= RECORD_HEADER) done(isTlsRecord(seen))
    })
    socket.on('error', () => done(false))
    socket.on('close', () => done(false))
  })
}

/** Handshake (22) or alert (21), TLS 1.x record version, a length no record exceeds. */
function isTlsRecord(bytes: Buffer): boolean {
  const type = bytes[0]
  return (type === 22 || type === 21) && bytes[1] === 3 && bytes.readUInt16BE(3) <= 16_384 + 2048
}

/**
 * A TLS 1.2/1.3 ClientHello: ECDHE AES-GCM suites, X25519/P-256, common signature schemes, SNI for host names.
 * Without a key share a TLS 1.3 server answers with a HelloRetryRequest, which is a ServerHello too.
 */
function clientHello(hostname: string): Buffer {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff])
  const vector16 = (b: Buffer) => Buffer.concat([u16(b.byteLength), b])
  const extension = (type: number, data: Buffer) => Buffer.concat([u16(type), vector16(data)])
  const isIp = /^[\d.]+$/.test(hostname) || hostname.includes(':')
  const extensions = Buffer.concat([
    ...(isIp ? [] : [extension(0, vector16(Buffer.concat([Buffer.from([0]), vector16(Buffer.from(hostname))])))]),
    extension(10, vector16(Buffer.from([0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]))),
    extension(11, Buffer.from([1, 0])),
    extension(13, vector16(Buffer.from([0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01]))),
    extension(43, Buffer.from([4, 0x03, 0x04, 0x03, 0x03])),
  ])
  const suites = Buffer.from([0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30])
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    crypto.getRandomValues(Buffer.alloc(32)),
    Buffer.from([0]),
    vector16(suites),
    Buffer.from([1, 0]),
    vector16(extensions),
  ])
  const handshake = Buffer.concat([Buffer.from([1, 0]), u16(body.byteLength), body])
  return Buffer.concat([Buffer.from([22, 3, 1]), vector16(handshake)])
}
