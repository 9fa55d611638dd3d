/**
 * TLS material for private registries, read from where the container tools keep it:
 * - `--ca-file` PEM files: CAs trusted for every registry;
 * - per host, `<certs dir>/<host[:port]>/` (Docker's and containers' certs.d layout): `*.crt` files are CAs,
 *   and a `NAME.cert` with its `NAME.key` is a client certificate for registries that require mutual TLS.
 * A host's directories are read on first contact with that host, as Docker does, so a broken directory of an
 * unrelated registry does not fail the run.
 */
import {createPrivateKey, X509Certificate} from 'node:crypto'
import {readdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import type {HostTls, TlsLookup} from '../transport/tls.ts'
import {EndpointError} from './endpoints.ts'

/** Where podman/skopeo and Docker look; SYNCER_CERTS_DIR replaces the list. */
export const DEFAULT_CERTS_DIRS: readonly string[] = ['/etc/containers/certs.d', '/etc/docker/certs.d']

/** A CA bundle is a few hundred KiB at most; a larger "certificate" is a wrong path (or /dev/zero). */
const MAX_PEM_FILE_BYTES = 1024 * 1024

export interface CertificateSources {
  caFiles: readonly string[]
  certsDirs: readonly string[]
}

/** Reads the --ca-file files now (a typo fails before any request) and certs.d directories per host, once. */
export async function certificateLookup(sources: CertificateSources): Promise<TlsLookup> {
  const common = (await Promise.all(sources.caFiles.map((path) => readCertificates(path, `--ca-file ${path}`)))).flat()
  const cache = new Map<string, Promise<HostTls | null>>()
  return (host) => {
    let material = cache.get(host)
    if (!material) {
      material = hostMaterial(host, common, sources.certsDirs)
      cache.set(host, material)
    }
    return material
  }
}

async function hostMaterial(host: string, common: readonly string[], certsDirs: readonly string[]): Promise<HostTls | null> {
  const ca = [...common]
  let client: HostTls['client'] = null
  // `host` is a URL's host (a token realm's too, which the registry chooses): never a path that leaves the directory.
  if (host !== '' && !/[/\\]/.test(host) && host !== '.' && host !== '..') {
    for (const dir of certsDirs) {
      const found = await readCertsDir(join(dir, host))
      ca.push(...found.ca)
      client ??= found.client
    }
  }
  return ca.length || client ? {ca, client} : null
}

async function readCertsDir(dir: string): Promise<HostTls> {
  let names: string[]
  try {
    names = (await readdir(dir)).sort()
  } catch (err) {
    if (isMissing(err)) return {ca: [], client: null}
    throw new EndpointError(`cannot read ${dir}: ${codeOf(err)}`, 'INVALID_TLS')
  }
  const ca: string[] = []
  let client: HostTls['client'] = null
  for (const name of names) {
    const path = join(dir, name)
    const base = name.replace(/\.(crt|cert|key)$/, '')
    if (name.endsWith('.crt')) ca.push(...(await readCertificates(path, path)))
    // Docker's rule: a client certificate and its key come in pairs, and a lone half is a mistake worth saying.
    if (name.endsWith('.key') && !names.includes(`${base}.cert`))
      throw new EndpointError(`${path} has no client certificate next to it (${base}.cert)`, 'INVALID_TLS')
    if (name.endsWith('.cert') && !names.includes(`${base}.key`)) throw new EndpointError(`${path} has no private key next to it (${base}.key)`, 'INVALID_TLS')
    if (name.endsWith('.cert') && client === null) client = await readClientPair(path, join(dir, `${base}.key`))
  }
  return {ca, client}
}

/** The CERTIFICATE blocks of a PEM file, each checked to parse; other blocks are not passed on. */
async function readCertificates(path: string, label: string): Promise<string[]> {
  const text = await readPem(path, label)
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (!blocks.length) throw new EndpointError(`${label} holds no PEM certificate`, 'INVALID_TLS')
  for (const block of blocks) {
    try {
      new X509Certificate(block)
    } catch {
      throw new EndpointError(`${label} holds a certificate that does not parse`, 'INVALID_TLS')
    }
  }
  return blocks
}

/** A client certificate (the leaf first, intermediates after it) and the leaf's private key. */
async function readClientPair(certPath: string, keyPath: string): Promise<{cert: string; key: string}> {
  const chain = await readCertificates(certPath, certPath)
  const key = await readPem(keyPath, keyPath)
  let matches: boolean
  try {
    matches = new X509Certificate(chain[0]!).checkPrivateKey(createPrivateKey(key))
  } catch {
    throw new EndpointError(`${keyPath} is not a PEM private key`, 'INVALID_TLS')
  }
  if (!matches) throw new EndpointError(`${keyPath} is not the private key of ${certPath}`, 'INVALID_TLS')
  return {cert: chain.join('\n'), key}
}

/** A regular file of bounded size, read as text; the message names `label`, never the file's contents. */
async function readPem(path: string, label: string): Promise<string> {
  try {
    const info = await stat(path)
    if (!info.isFile()) throw new EndpointError(`${label} is not a regular file`, 'INVALID_TLS')
    if (info.size > MAX_PEM_FILE_BYTES) throw new EndpointError(`${label} is larger than ${MAX_PEM_FILE_BYTES} bytes`, 'INVALID_TLS')
    return await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof EndpointError) throw err
    throw new EndpointError(`${label} cannot be read (${codeOf(err)})`, 'INVALID_TLS')
  }
}

function isMissing(err: unknown): boolean {
  const code = codeOf(err)
  return code === 'ENOENT' || code === 'ENOTDIR'
}

function codeOf(err: unknown): string {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : 'unreadable'
}
