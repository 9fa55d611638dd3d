/**
 * A throw-away PKI made with openssl for TLS tests: a CA, a server certificate for 127.0.0.1 and localhost, a
 * client certificate for mutual TLS, and an unrelated CA (the "wrong CA"). EC P-256 keys, so it takes ~50 ms.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface TestPki {
  dir: string
  /** PEM paths. */
  ca: string
  serverCertificate: string
  serverKey: string
  clientCertificate: string
  clientKey: string
  otherCa: string
}

export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-pki-'))
  const at = (name: string) => join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await openssl(['req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=image-syncer test CA'])
  await openssl(['req', '-x509', ...ec, '-keyout', at('other-ca.key'), '-out', at('other-ca.crt'), '-days', '2', '-subj', '/CN=unrelated CA'])
  await issue(dir, 'server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  await issue(dir, 'client', '/CN=image-syncer test client', 'extendedKeyUsage=clientAuth\n')
  return {
    dir,
    ca: at('ca.crt'),
    serverCertificate: at('server.crt'),
    serverKey: at('server.key'),
    clientCertificate: at('client.crt'),
    clientKey: at('client.key'),
    otherCa: at('other-ca.crt'),
  }
}

/**
 * A server certificate from `pki`'s CA for DNS names that cannot be served on loopback (`*.pkg.dev`, `*.azurecr.io`):
 * a TLS front holds it and a CONNECT proxy routes those names to it. Returns the certificate and key paths.
 */
export async function issueServerCertificate(pki: TestPki, name: string, dnsNames: readonly string[]): Promise<{cert: string; key: string}> {
  const sans = dnsNames.map((d) => `DNS:${d}`).join(',')
  await issue(pki.dir, name, `/CN=${dnsNames[0]}`, `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\n`)
  return {cert: join(pki.dir, `${name}.crt`), key: join(pki.dir, `${name}.key`)}
}

async function issue(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  const at = (file: string) => join(dir, file)
  await writeFile(at(`${name}.ext`), extensions)
  await openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    at(`${name}.key`),
    '-out',
    at(`${name}.csr`),
    '-subj',
    subject,
  ])
  await openssl([
    'x509',
    '-req',
    '-in',
    at(`${name}.csr`),
    '-CA',
    at('ca.crt'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-out',
    at(`${name}.crt`),
    '-days',
    '2',
    '-extfile',
    at(`${name}.ext`),
  ])
}

async function openssl(args: string[]): Promise<void> {
  const proc = Bun.spawn(['openssl', ...args], {stdin: 'ignore', stdout: 'ignore', stderr: 'pipe'})
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
  if (code !== 0) throw new Error(`openssl ${args[0]} failed (${code}): ${stderr.trim()}`)
}
