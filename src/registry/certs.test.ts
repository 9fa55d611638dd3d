import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {copyFile, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createTestPki, type TestPki} from '../../test/support/test-pki.ts'
import {certificateLookup} from './certs.ts'
import {EndpointError} from './endpoints.ts'

let pki: TestPki
let root: string
beforeAll(async () => {
  pki = await createTestPki()
  root = await mkdtemp(join(tmpdir(), 'certs-d-'))
})
afterAll(async () => {
  await rm(pki.dir, {recursive: true, force: true})
  await rm(root, {recursive: true, force: true})
})

const pem = (path: string) => Bun.file(path).text()

/** A certs.d directory `name` with `host/` holding `files` (file name → source path or literal text). */
async function certsDir(name: string, host: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name)
  await mkdir(join(dir, host), {recursive: true})
  for (const [file, source] of Object.entries(files)) {
    if (source.startsWith('/')) await copyFile(source, join(dir, host, file))
    else await writeFile(join(dir, host, file), source)
  }
  return dir
}

async function failure(promise: Promise<unknown>): Promise<EndpointError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(EndpointError)
  expect((err as EndpointError).code).toBe('INVALID_TLS')
  return err as EndpointError
}

describe('certificateLookup', () => {
  test('--ca-file CAs apply to every host; certs.d adds per-host CAs and the client pair', async () => {
    const dir = await certsDir('full', 'reg.example:5000', {'ca.crt': pki.otherCa, 'client.cert': pki.clientCertificate, 'client.key': pki.clientKey})
    const lookup = await certificateLookup({caFiles: [pki.ca], certsDirs: [join(root, 'missing'), dir]})
    expect(await lookup('reg.example:5000')).toEqual({
      ca: [(await pem(pki.ca)).trim(), (await pem(pki.otherCa)).trim()],
      client: {cert: (await pem(pki.clientCertificate)).trim(), key: await pem(pki.clientKey)},
    })
    expect(await lookup('other.example')).toEqual({ca: [(await pem(pki.ca)).trim()], client: null})
  })

  test('nothing configured: null (the default trust store alone)', async () => {
    expect(await (await certificateLookup({caFiles: [], certsDirs: [join(root, 'missing')]}))('reg.example')).toBeNull()
  })

  test('a host that is not a directory name never leaves the certs.d directory', async () => {
    await writeFile(join(root, 'stray.crt'), await pem(pki.ca))
    const lookup = await certificateLookup({caFiles: [], certsDirs: [join(root, 'full')]})
    expect(await lookup('..')).toBeNull()
  })

  test('--ca-file problems are one sentence each, before any request', async () => {
    const notPem = join(root, 'not.pem')
    await writeFile(notPem, 'hello')
    expect((await failure(certificateLookup({caFiles: [join(root, 'nope.pem')], certsDirs: []}))).message).toBe(
      `--ca-file ${join(root, 'nope.pem')} cannot be read (ENOENT)`,
    )
    expect((await failure(certificateLookup({caFiles: [notPem], certsDirs: []}))).message).toBe(`--ca-file ${notPem} holds no PEM certificate`)
    expect((await failure(certificateLookup({caFiles: [root], certsDirs: []}))).message).toBe(`--ca-file ${root} is not a regular file`)
  })

  test('a client certificate without its key, a key without its certificate, and a key of another certificate are refused', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['lone-cert', {'client.cert': pki.clientCertificate}, 'has no private key next to it (client.key)'],
      ['lone-key', {'client.key': pki.clientKey}, 'has no client certificate next to it (client.cert)'],
      ['mismatch', {'client.cert': pki.clientCertificate, 'client.key': pki.serverKey}, 'is not the private key of'],
    ]
    for (const [name, files, want] of cases) {
      const dir = await certsDir(name, 'reg.example', files)
      const lookup = await certificateLookup({caFiles: [], certsDirs: [dir]})
      expect((await failure(lookup('reg.example'))).message).toContain(want)
    }
  })
})
