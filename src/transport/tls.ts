/**
 * TLS towards private registries: CAs the system does not know and client certificates (mutual TLS), per host,
 * in the form Bun's fetch takes them (`tls: {ca, cert, key}` per request). Where the material comes from (files,
 * certs.d directories) is the registry layer's business; this module only applies it and names TLS failures.
 */
import {getCACertificates} from 'node:tls'

/** What a connection to one host may use besides the default trust store. */
export interface HostTls {
  /** PEM CA certificates trusted in addition to the default ones. */
  ca: readonly string[]
  /** A client certificate and its key (PEM) for registries that require mutual TLS. */
  client: {cert: string; key: string} | null
}

/** The TLS material for `host[:port]`, or null when it needs nothing beyond the defaults. */
export type TlsLookup = (host: string) => Promise<HostTls | null>

/** Bun's per-request `tls` option. */
export interface FetchTls {
  ca?: string[]
  cert?: string
  key?: string
}

/**
 * Bun's `tls.ca` replaces the default trust store instead of extending it, so the defaults (bundled roots plus
 * NODE_EXTRA_CA_CERTS) are listed first: a private CA must not make public registries untrusted.
 */
export function fetchTls(material: HostTls): FetchTls {
  return {
    ...(material.ca.length ? {ca: [...defaultCas(), ...material.ca]} : {}),
    ...(material.client ? {cert: material.client.cert, key: material.client.key} : {}),
  }
}

let defaults: string[] | null = null
function defaultCas(): string[] {
  defaults ??= getCACertificates('default')
  return defaults
}

/**
 * How a TLS connection failed, from Bun's error code:
 * - `certificate`: the server's certificate did not verify (unknown CA, wrong name, expired). Never a reason to
 *   try plain HTTP: the server does speak TLS, and someone may be in the middle.
 * - `handshake`: no TLS session came about (EPROTO): the server speaks plain HTTP on that port, or it refused
 *   the handshake (e.g. it wants a client certificate we did not send). Only tls-probe.ts tells them apart.
 */
export type TlsFailure = 'certificate' | 'handshake'

export function tlsFailure(code: string | undefined): TlsFailure | null {
  if (code === undefined) return null
  if (code === 'EPROTO') return 'handshake'
  return CERTIFICATE_CODES.has(code) ? 'certificate' : null
}

/** OpenSSL/BoringSSL X509 verification results and Node's hostname check, as Bun reports them. */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])
