/**
 * The token service is chosen by the registry (its challenge's realm) and answers with a body we buffer: both are
 * hostile input. A registry on 127.0.0.1 (Bun.serve) names realms; nothing leaves loopback (0.0.0.0 reaches the
 * local server, yet is not a loopback name, so it stands in for a remote host).
 */
import {afterEach, describe, expect, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {testPace} from '../../test/support/pace.ts'
import type {Credential} from '../auth/credential.ts'
import {MAX_TOKEN_RESPONSE_BYTES} from './bearer.ts'
import {AuthenticationError} from './errors.ts'
import {Transport} from './transport.ts'

const ALICE: Credential = {kind: 'basic', username: 'alice', password: 'hunter2-SECRET-pw'}
const ANONYMOUS: Credential = {kind: 'anonymous'}
const SCOPE = 'repository:library/busybox:pull'

interface Seen {
  path: string
  host: string
  authorization: string | null
  body: string
}

/** A registry whose `/v2/` challenge names `realm(port)`, and which serves `/token` with `token(port)`. */
function registry(realm: (port: number) => string, token: (port: number) => Response = () => Response.json({token: 'tok-1'})) {
  const seen: Seen[] = []
  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: async (req): Promise<Response> => {
      const url = new URL(req.url)
      seen.push({path: url.pathname, host: req.headers.get('host') ?? '', authorization: req.headers.get('authorization'), body: await req.text()})
      if (url.pathname === '/token') return token(server.port!)
      if (url.pathname === '/elsewhere') return Response.json({token: 'tok-2'})
      if (req.headers.get('authorization')?.startsWith('Bearer ')) return new Response('manifest')
      return new Response('{}', {status: 401, headers: {'www-authenticate': `Bearer realm="${realm(server.port!)}",service="svc"`}})
    },
  })
  servers.push(server)
  const endpoint = {registry: `127.0.0.1:${server.port}`, baseUrl: `http://127.0.0.1:${server.port}`, scheme: 'fixed' as const}
  return {seen, endpoint}
}

const servers: ReturnType<typeof Bun.serve>[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop(true)))
})

function get(credential: Credential, endpoint: {registry: string; baseUrl: string; scheme: 'fixed'}, insecureHosts: string[] = []) {
  const transport = new Transport({
    credentials: async () => credential,
    pace: testPace({retry: {maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1}}),
    insecureHosts,
  })
  return transport.request({endpoint, method: 'GET', path: '/v2/library/busybox/manifests/1', scopes: [SCOPE]})
}

describe('token realms', () => {
  test('a file: realm is refused: no local file is read and sent to the registry as a token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'realm-'))
    try {
      const file = join(dir, 'token.json')
      await writeFile(file, JSON.stringify({token: 'LOCAL-FILE-SECRET'}))
      const {seen, endpoint} = registry(() => `file://${file}`)
      const err = await get(ANONYMOUS, endpoint).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(AuthenticationError)
      expect((err as Error).message).toBe(
        `${endpoint.registry}: refusing the token realm file://${file}: only https realms are accepted (http only on loopback or --insecure-registry hosts)`,
      )
      expect(seen.map((s) => s.authorization)).not.toContain('Bearer LOCAL-FILE-SECRET')
      expect(seen.map((s) => s.path)).toEqual(['/v2/'])
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  for (const realm of ['data:application/json,{"token":"x"}', 'ftp://127.0.0.1/token', 'not a url']) {
    test(`a realm "${realm}" is refused`, async () => {
      const {endpoint} = registry(() => realm)
      await expect(get(ANONYMOUS, endpoint)).rejects.toBeInstanceOf(AuthenticationError)
    })
  }

  test('a plain-HTTP realm on a host that is neither loopback nor --insecure-registry is refused before any request', async () => {
    const {seen, endpoint} = registry((port) => `http://0.0.0.0:${port}/token`)
    const err = await get(ALICE, endpoint).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthenticationError)
    expect((err as Error).message).toContain('refusing the token realm http://0.0.0.0:')
    expect(seen.map((s) => s.path)).toEqual(['/v2/'])
  })

  test('a plain-HTTP realm on an --insecure-registry host gets anonymous token requests, never credentials', async () => {
    const {seen, endpoint} = registry((port) => `http://0.0.0.0:${port}/token`)
    const port = new URL(endpoint.baseUrl).port
    expect((await get(ANONYMOUS, endpoint, [`0.0.0.0:${port}`])).status).toBe(200)
    const err = await get(ALICE, endpoint, [`0.0.0.0:${port}`]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthenticationError)
    expect((err as Error).message).toContain('refusing to send credentials to the plain-HTTP token realm http://0.0.0.0:')
    expect(seen.filter((s) => s.path === '/token').map((s) => s.authorization)).toEqual([null])
  })

  test('a plain-HTTP realm on loopback gets credentials (they stay on the machine)', async () => {
    const {seen, endpoint} = registry((port) => `http://127.0.0.1:${port}/token`)
    expect((await get(ALICE, endpoint)).status).toBe(200)
    expect(seen.find((s) => s.path === '/token')?.authorization).toStartWith('Basic ')
  })
})

describe('token service redirects', () => {
  const IDENTITY: Credential = {kind: 'identity-token', token: 'refresh-SECRET'}

  test('a redirect to plain HTTP on a remote host is refused: the refresh token in the body is not re-sent', async () => {
    const redirect = (port: number) => new Response(null, {status: 307, headers: {location: `http://0.0.0.0:${port}/elsewhere`}})
    const {seen, endpoint} = registry((port) => `http://127.0.0.1:${port}/token`, redirect)
    const err = await get(IDENTITY, endpoint).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthenticationError)
    expect((err as Error).message).toContain('refusing the token realm http://0.0.0.0:')
    expect(seen.filter((s) => s.path === '/elsewhere')).toEqual([])
  })

  test('a redirect within the rules is followed; Authorization stays with the first origin', async () => {
    const redirect = (port: number) => new Response(null, {status: 307, headers: {location: `http://localhost:${port}/elsewhere`}})
    const {seen, endpoint} = registry((port) => `http://127.0.0.1:${port}/token`, redirect)
    expect((await get(ALICE, endpoint)).status).toBe(200)
    expect(seen.map((s) => [s.path, s.authorization?.split(' ')[0] ?? null])).toEqual([
      ['/v2/', null],
      ['/token', 'Basic'],
      ['/elsewhere', null],
      ['/v2/library/busybox/manifests/1', 'Bearer'],
    ])
  })
})

describe('token responses', () => {
  test(`an answer larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes is refused, however valid`, async () => {
    const padded = () => Response.json({token: 'tok-1', padding: 'x'.repeat(MAX_TOKEN_RESPONSE_BYTES)})
    const {endpoint} = registry((port) => `http://127.0.0.1:${port}/token`, padded)
    const err = await get(ANONYMOUS, endpoint).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthenticationError)
    expect((err as Error).message).toBe(`${endpoint.registry}: the token service answered with more than ${MAX_TOKEN_RESPONSE_BYTES} bytes`)
  })

  test('an endless answer without Content-Length is cut off after the limit, not read to the end', async () => {
    let sent = 0
    const endless = () => {
      const chunk = new Uint8Array(64 * 1024).fill(0x20)
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += chunk.byteLength
          controller.enqueue(chunk)
        },
      })
      return new Response(body, {headers: {'content-type': 'application/json'}})
    }
    const {endpoint} = registry((port) => `http://127.0.0.1:${port}/token`, endless)
    await expect(get(ANONYMOUS, endpoint)).rejects.toBeInstanceOf(AuthenticationError)
    await Bun.sleep(200)
    expect(sent).toBeLessThan(16 * MAX_TOKEN_RESPONSE_BYTES)
  })
})
