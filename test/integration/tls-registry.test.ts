/**
 * Private registries with their own CA, against real docker-registry processes on 127.0.0.1 serving TLS with a
 * CA made for the test: --ca-file, certs.d (CAs and client certificates), the loopback HTTPS-first rule and its
 * plain-HTTP fallback, and the failures that must never fall back.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {copyFile, mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:tls'
import {join} from 'node:path'
import {connectRegistries, type ConnectOptions} from '../../src/registry/connect.ts'
import type {RegistryClient} from '../../src/registry/client.ts'
import type {Repository} from '../../src/registry/handle.ts'
import {NetworkError} from '../../src/transport/errors.ts'
import type {RequestEvent} from '../../src/transport/transport.ts'
import {type Image, makeImage} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {startOpeningBytesProxy} from '../support/opening-bytes-proxy.ts'
import {createTestPki, type TestPki} from '../support/test-pki.ts'
import {runCli} from './scenario.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)

let pki: TestPki
let tlsRegistry: RealRegistry
let mtlsRegistry: RealRegistry
let plainRegistry: RealRegistry

beforeAll(async () => {
  pki = await createTestPki()
  const server = {certificate: pki.serverCertificate, key: pki.serverKey, ca: pki.ca}
  ;[tlsRegistry, mtlsRegistry, plainRegistry] = await Promise.all([
    startRealRegistry({tls: server}),
    startRealRegistry({tls: {...server, clientAuth: {certificate: pki.clientCertificate, key: pki.clientKey}}}),
    startRealRegistry(),
  ])
})
afterAll(async () => {
  await Promise.all([tlsRegistry, mtlsRegistry, plainRegistry].map((r) => r?.stop()))
  if (pki) await rm(pki.dir, {recursive: true, force: true})
})

async function connect(registry: RealRegistry, options: Partial<ConnectOptions>): Promise<{client: RegistryClient; events: RequestEvent[]}> {
  const events: RequestEvent[] = []
  const client = await connectRegistries(
    {insecureRegistries: [], mirrors: {}, env: {}, targetRegistry: registry.host, onRequest: (e) => events.push(e), pace: testPace(), ...options},
    'test',
  )
  return {client, events}
}

/** Pushes a small image through our client (config blob, then manifest) and reads it back by tag. */
async function roundTrip(client: RegistryClient, registry: RealRegistry, seed: string): Promise<void> {
  const repo: Repository = {registry: registry.host, repository: `tls/${seed}`}
  const image: Image = makeImage({flavor: 'oci', seed, layers: 0})
  const config = image.config
  expect(
    await client.repository(repo).putBlob({digest: config.digest, size: config.bytes.byteLength, open: async () => new Blob([config.bytes]).stream()}),
  ).toBe('uploaded')
  await client.repository(repo).putManifest('1', {bytes: image.bytes, mediaType: image.mediaType, digest: image.digest})
  expect((await client.repository(repo).headManifest('1'))?.digest).toBe(image.digest)
}

/** A certs.d tree holding `files` (name → source path) for `host`. */
async function certsDir(name: string, host: string, files: Record<string, string>): Promise<string> {
  const root = join(pki.dir, name)
  await mkdir(join(root, host), {recursive: true})
  for (const [file, source] of Object.entries(files)) await copyFile(source, join(root, host, file))
  return root
}

const schemes = (events: RequestEvent[]) => new Set(events.map((e) => new URL(e.url).protocol))

describe('a loopback registry serving TLS', () => {
  test('is reached over TLS with its CA from --ca-file: push, pull, uploads at the Location it gives', async () => {
    const {client, events} = await connect(tlsRegistry, {caFiles: [pki.ca]})
    await roundTrip(client, tlsRegistry, 'ca-file')
    expect(schemes(events)).toEqual(new Set(['https:']))
    expect(events.every((e) => e.status !== null)).toBe(true)
  })

  test('is reached with its CA from certs.d/<host:port>/*.crt (the containers layout)', async () => {
    const dir = await certsDir('certs-containers', tlsRegistry.host, {'private-ca.crt': pki.ca})
    const {client, events} = await connect(tlsRegistry, {certsDirs: [join(pki.dir, 'nonexistent'), dir]})
    await roundTrip(client, tlsRegistry, 'certs-d')
    expect(schemes(events)).toEqual(new Set(['https:']))
  })

  test('a wrong CA fails with one sentence naming the host, and plain HTTP is never tried', async () => {
    const {client, events} = await connect(tlsRegistry, {caFiles: [pki.otherCa]})
    const err = await client
      .repository({registry: tlsRegistry.host, repository: 'tls/x'})
      .headManifest('1')
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NetworkError)
    expect((err as NetworkError).kind).toBe('tls-certificate')
    expect((err as NetworkError).message).toContain(`the TLS certificate of ${tlsRegistry.host} did not verify`)
    expect((err as NetworkError).message).not.toContain('\n')
    // One attempt: a certificate failure is not retried, and no request went over plain HTTP.
    expect(events.map((e) => e.url)).toEqual([`${tlsRegistry.url}/v2/`])
  })

  test('without any CA for it, the default trust store refuses it the same way', async () => {
    const {client} = await connect(tlsRegistry, {})
    const err = await client
      .repository({registry: tlsRegistry.host, repository: 'tls/x'})
      .headManifest('1')
      .catch((e: unknown) => e)
    expect((err as NetworkError).kind).toBe('tls-certificate')
  })
})

describe('a loopback registry that requires client certificates', () => {
  test('is reached with certs.d/<host:port>/ca.crt, client.cert and client.key (the Docker layout)', async () => {
    const dir = await certsDir('certs-docker', mtlsRegistry.host, {'ca.crt': pki.ca, 'client.cert': pki.clientCertificate, 'client.key': pki.clientKey})
    const {client, events} = await connect(mtlsRegistry, {certsDirs: [dir]})
    await roundTrip(client, mtlsRegistry, 'mtls')
    expect(schemes(events)).toEqual(new Set(['https:']))
  })

  test('without a client certificate fails naming the host, and it is never sent plain HTTP', async () => {
    const proxy = await startOpeningBytesProxy(Number(new URL(mtlsRegistry.url).port))
    try {
      const {client, events} = await connect(mtlsRegistry, {caFiles: [pki.ca]})
      const err = await client
        .repository({registry: proxy.host, repository: 'tls/x'})
        .headManifest('1')
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NetworkError)
      expect((err as NetworkError).kind).toBe('tls-handshake')
      expect((err as NetworkError).message).toContain(`no TLS session with ${proxy.host} (EPROTO)`)
      expect(events.filter((e) => e.url.startsWith('http:'))).toEqual([])
      expect(proxy.openings.length).toBeGreaterThan(0)
      expect(proxy.openings.every((o) => o === 'tls')).toBe(true)
    } finally {
      await proxy.stop()
    }
  })

  test('a node:tls server that requires one (requestCert, rejectUnauthorized) gets the sentence and no plain HTTP', async () => {
    const [cert, key, ca] = await Promise.all([pki.serverCertificate, pki.serverKey, pki.ca].map((f) => readFile(f)))
    const server: Server = createServer({cert, key, ca, requestCert: true, rejectUnauthorized: true}, (socket) =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const proxy = await startOpeningBytesProxy((server.address() as {port: number}).port)
    try {
      const {client} = await connect(mtlsRegistry, {caFiles: [pki.ca]})
      const err = await client
        .repository({registry: proxy.host, repository: 'tls/x'})
        .headManifest('1')
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NetworkError)
      expect((err as NetworkError).message).toContain(`failed: no TLS session with ${proxy.host} (EPROTO)`)
      expect((err as NetworkError).message).not.toContain('\n')
      expect(proxy.openings.filter((o) => o !== 'tls')).toEqual([])
    } finally {
      await proxy.stop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('a loopback registry serving plain HTTP', () => {
  test('is reached after one HTTPS attempt finds no TLS; the decision holds for the rest of the run', async () => {
    const {client, events} = await connect(plainRegistry, {caFiles: [pki.ca]})
    await roundTrip(client, plainRegistry, 'plain')
    await roundTrip(client, plainRegistry, 'plain-again')
    const https = events.filter((e) => e.url.startsWith('https:'))
    expect(https.map((e) => [e.url, e.status])).toEqual([[`https://${plainRegistry.host}/v2/`, null]])
    expect(events.filter((e) => e.url.startsWith('http:')).every((e) => e.status !== null && e.status < 400)).toBe(true)
  })
})

describe('an --insecure-registry host (0.0.0.0 reaches loopback, yet is not a loopback name)', () => {
  const repo = () => ({registry: `0.0.0.0:${new URL(plainRegistry.url).port}`, repository: 'tls/absent'})

  test('is tried over HTTPS first, like loopback, and reached over plain HTTP when it does not speak TLS', async () => {
    const {client, events} = await connect(plainRegistry, {insecureRegistries: [repo().registry]})
    expect(await client.repository(repo()).headManifest('1')).toBeNull()
    expect(events.map((e) => [e.url.split('/v2/')[0], e.status])).toEqual([
      [`https://${repo().registry}`, null],
      [`http://${repo().registry}`, 200],
      [`http://${repo().registry}`, 404],
    ])
  })

  test('without --insecure-registry it is HTTPS only', async () => {
    const {client} = await connect(plainRegistry, {})
    const err = await client
      .repository(repo())
      .headManifest('1')
      .catch((e: unknown) => e)
    expect((err as NetworkError).kind).toBe('tls-handshake')
  })
})

describe('image-syncer plan with a private CA', () => {
  test('--ca-file and SYNCER_CERTS_DIR reach a TLS registry; without them the run fails naming the host', async () => {
    const {client} = await connect(tlsRegistry, {caFiles: [pki.ca]})
    await roundTrip(client, tlsRegistry, 'cli')
    const definition = join(pki.dir, 'images.yaml')
    await writeFile(definition, `targetRepoPrefix: "${tlsRegistry.host}/mirror/"\nimages:\n- source: "${tlsRegistry.host}/tls/cli:1"\n`)
    const env = {SYNCER_CERTS_DIR: join(pki.dir, 'no-certs-d')}
    const trusted = await runCli(['plan', '-i', definition, '-o', join(pki.dir, 'a.plan.json'), '--ca-file', pki.ca], {env})
    expect(trusted.stderr).not.toContain('Error')
    expect(trusted.exitCode).toBe(0)
    expect(trusted.stdout).toContain('to-copy')

    const viaEnv = await runCli(['plan', '-i', definition, '-o', join(pki.dir, 'b.plan.json')], {env: {...env, SYNCER_CA_FILE: `${pki.otherCa},${pki.ca}`}})
    expect(viaEnv.exitCode).toBe(0)

    const untrusted = await runCli(['plan', '-i', definition, '-o', join(pki.dir, 'c.plan.json')], {env})
    expect(untrusted.exitCode).toBe(1)
    expect(untrusted.stderr).toContain(`the TLS certificate of ${tlsRegistry.host} did not verify`)
  })

  test('an unreadable --ca-file is one sentence before any request', async () => {
    const definition = join(pki.dir, 'images.yaml')
    const run = await runCli(['plan', '-i', definition, '-o', join(pki.dir, 'd.plan.json'), '--ca-file', join(pki.dir, 'missing.pem')], {
      env: {SYNCER_CERTS_DIR: ''},
    })
    expect(run.exitCode).toBe(1)
    expect(run.stderr.trim()).toBe(`Error: --ca-file ${join(pki.dir, 'missing.pem')} cannot be read (ENOENT)`)
  })
})
