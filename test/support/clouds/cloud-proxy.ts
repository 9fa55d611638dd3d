/**
 * How a test reaches registries by their cloud names (`europe-docker.pkg.dev`, `*.dkr.ecr.*.amazonaws.com`,
 * `*.azurecr.io`), which no loopback address can have: the CLI runs with HTTPS_PROXY pointing at this CONNECT
 * proxy (Bun's fetch honours it, and NO_PROXY keeps loopback direct), which tunnels the names it knows to a TLS
 * front holding a certificate for them from the test CA (passed as --ca-file). The front forwards each request to
 * the loopback registry its Host names, and points the registry's token realm at the cloud name too, as the real
 * registries have it. So the keychain matches real names, the CLI verifies TLS for them, and every name that was
 * connected to is recorded: a token can be shown to have gone only where it is for.
 */
import {connect, createServer, type Socket} from 'node:net'
import {issueServerCertificate, type TestPki} from '../test-pki.ts'

export interface CloudRoute {
  /** The loopback registry serving this name, e.g. `http://127.0.0.1:5000`. */
  upstream: string
  /** Answers some requests itself (ACR's /oauth2/exchange lives on the registry); null passes them on. */
  handle?: (request: Request, url: URL) => Promise<Response | null>
}

export interface CloudProxy {
  /** For HTTPS_PROXY. */
  readonly url: string
  /** `host:port` of every CONNECT asked for, in order, including refused ones. */
  readonly connects: string[]
  /** The Authorization header of each request the front received, by host (for "sent only to its host"). */
  readonly authorizations: Map<string, string[]>
  /** The env a CLI run needs: the proxy, loopback kept direct. */
  readonly env: Record<string, string>
  stop(): Promise<void>
}

export async function startCloudProxy(pki: TestPki, routes: Record<string, CloudRoute>): Promise<CloudProxy> {
  const names = Object.keys(routes)
  const certificate = await issueServerCertificate(pki, `clouds-${Bun.hash(names.join(',')).toString(16)}`, names)
  const authorizations = new Map<string, string[]>()
  const front = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    tls: {cert: Bun.file(certificate.cert), key: Bun.file(certificate.key)},
    async fetch(request) {
      const url = new URL(request.url)
      const host = (request.headers.get('host') ?? '').replace(/:443$/, '')
      const route = routes[host]
      if (!route) return new Response('unknown host', {status: 421})
      const seen = authorizations.get(host) ?? []
      seen.push(request.headers.get('authorization') ?? '')
      authorizations.set(host, seen)
      const own = await route.handle?.(request, url)
      if (own) return own
      const headers = new Headers(request.headers)
      headers.delete('host')
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
      const response = await fetch(`${route.upstream}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        redirect: 'manual',
        ...(hasBody ? {body: await request.arrayBuffer()} : {}),
      })
      const out = new Headers(response.headers)
      const challenge = out.get('www-authenticate')
      if (challenge) out.set('www-authenticate', challenge.replaceAll(route.upstream, `https://${host}`))
      return new Response(request.method === 'HEAD' ? null : response.body, {status: response.status, headers: out})
    },
  })
  const connects: string[] = []
  const sockets = new Set<Socket>()
  const proxy = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    client.once('data', (head) => {
      const target = /^CONNECT (\S+) HTTP/.exec(head.toString('latin1'))?.[1] ?? ''
      connects.push(target)
      if (!(target.replace(/:443$/, '') in routes)) {
        client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n')
        return
      }
      const up = connect(front.port!, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        client.pipe(up)
        up.pipe(client)
      })
      sockets.add(up)
      up.on('close', () => {
        sockets.delete(up)
        client.destroy()
      })
      up.on('error', () => client.destroy())
      client.on('close', () => up.destroy())
    })
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const address = proxy.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address')
  const url = `http://127.0.0.1:${address.port}`
  return {
    url,
    connects,
    authorizations,
    env: {HTTPS_PROXY: url, NO_PROXY: '127.0.0.1,localhost'},
    async stop() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
      await front.stop(true)
    },
  }
}
