/**
 * A private sigstore instance for keyless tests, on 127.0.0.1: `@sigstore/mock`'s Fulcio, Rekor and TSA handlers
 * served by `Bun.serve` (no nock, no monkey-patched fetch), and a TrustedRoot that trusts exactly them.
 *
 * Two deliberate additions:
 * - a **rogue Fulcio** under `/rogue` with its own CA (sharing the CT log and Rekor), which the trusted root
 *   does not contain, so "certificate from another CA" tests fail on the chain and nothing else;
 * - mock Rekor logs a proposed entry verbatim, which for `dsse` entries is not what real Rekor stores
 *   (notes §4) and makes sigstore-js reject the bundle. By default the request is rewritten into the body
 *   Rekor stores (`envelopeHash`, `payloadHash`, `signatures[{signature, verifier}]`), so the product's default
 *   (v0.3 bundle, `dsse` entry) can be tested end to end. Pass `rewriteDsse: false` to see the mock as shipped.
 *
 * And one workaround: the mock TSA writes `genTime` with milliseconds and asn1js drops trailing zeros
 * (`…05.12Z`), which `@sigstore/core` refuses ("invalid time", it wants none or exactly three digits), so about
 * one timestamp in ten failed. The TSA gets a clock that is set to the current whole second before each request.
 */
import {createHash, generateKeyPairSync} from 'node:crypto'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {fulcioHandler, initializeCA, initializeCTLog, initializeTLog, initializeTSA, rekorHandler, tsaHandler, type HandlerFn} from '@sigstore/mock'

type CA = Awaited<ReturnType<typeof initializeCA>>
type CTLog = Awaited<ReturnType<typeof initializeCTLog>>
type TLog = Awaited<ReturnType<typeof initializeTLog>>
type TSA = Awaited<ReturnType<typeof initializeTSA>>

export interface MockSigstore {
  /** Base URL of Fulcio, Rekor and the TSA (one server). */
  url: string
  /** Base URL of a Fulcio whose CA is not in `trustedRoot`. */
  rogueFulcioURL: string
  trustedRoot: TrustedRoot
  /** The same root as protobuf JSON, e.g. to write a trusted-root file. */
  trustedRootJSON: Record<string, unknown>
  tlog: TLog
  /** Every proposed Rekor entry as received, for assertions. */
  proposedEntries: unknown[]
  stop(): void
}

export interface MockSigstoreOptions {
  rewriteDsse?: boolean
}

const newKeyPair = () => generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
const wholeSecond = () => Math.floor(Date.now() / 1000) * 1000

export async function startMockSigstore(options: MockSigstoreOptions = {}): Promise<MockSigstore> {
  const rewriteDsse = options.rewriteDsse ?? true
  const ctlog = await initializeCTLog(newKeyPair())
  const ca = await initializeCA(newKeyPair(), ctlog)
  const rogueCA = await initializeCA(newKeyPair(), ctlog)
  const tsaClock = new Date(wholeSecond())
  const tsa = await initializeTSA(newKeyPair(), tsaClock)
  const routes = new Map<string, HandlerFn>()
  const proposedEntries: unknown[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const handler = routes.get(new URL(request.url).pathname)
      if (handler === undefined || request.method !== 'POST') return new Response('not found', {status: 404})
      const result = await handler(await request.text())
      const body =
        typeof result.response === 'string' ? result.response : new Uint8Array(result.response.buffer, result.response.byteOffset, result.response.byteLength)
      return new Response(body, {status: result.statusCode, headers: {'content-type': result.contentType ?? 'text/plain'}})
    },
  })
  const url = `http://127.0.0.1:${server.port}`
  const tlog = await initializeTLog(url, newKeyPair())
  const rekor = rekorHandler(tlog)
  const fulcio = fulcioHandler(ca)
  const rogue = fulcioHandler(rogueCA)
  const timestamp = tsaHandler(tsa)
  routes.set(fulcio.path, fulcio.fn)
  routes.set(`/rogue${rogue.path}`, rogue.fn)
  routes.set(timestamp.path, (body) => {
    tsaClock.setTime(wholeSecond())
    return timestamp.fn(body)
  })
  routes.set(rekor.path, async (body) => {
    const proposed: unknown = JSON.parse(body)
    proposedEntries.push(proposed)
    return rekor.fn(rewriteDsse ? JSON.stringify(storedDsseBody(proposed)) : body)
  })
  const trustedRootJSON = trustedRootFor({url, ca, ctlog, tlog, tsa})
  return {
    url,
    rogueFulcioURL: `${url}/rogue`,
    trustedRoot: TrustedRoot.fromJSON(trustedRootJSON),
    trustedRootJSON,
    tlog,
    proposedEntries,
    stop: () => void server.stop(true),
  }
}

/** Real Rekor's canonical `dsse` 0.0.1 body for a proposed entry; other kinds pass through unchanged. */
function storedDsseBody(proposed: unknown): unknown {
  const entry = proposed as {kind?: string; spec?: {proposedContent?: {envelope: string; verifiers: string[]}}}
  const content = entry.spec?.proposedContent
  if (entry.kind !== 'dsse' || content === undefined) return proposed
  const envelope = JSON.parse(content.envelope) as {payload: string; signatures: Array<{sig: string}>}
  const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex')
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: {algorithm: 'sha256', value: sha256(content.envelope)},
      payloadHash: {algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64'))},
      signatures: envelope.signatures.map((s) => ({signature: s.sig, verifier: content.verifiers[0]})),
    },
  }
}

const b64 = (bytes: ArrayBufferView) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

/**
 * A protobuf-JSON TrustedRoot for mock services (the mock package has no exported generator, notes §4). Log ids
 * are sha256 of the DER key, as for Rekor v1; validity starts an hour ago so clock skew cannot bite.
 */
export function trustedRootFor(m: {url: string; ca: CA; ctlog: CTLog; tlog: TLog; tsa?: TSA}): Record<string, unknown> {
  const start = new Date(Date.now() - 3_600_000).toISOString()
  const key = (der: Buffer) => ({rawBytes: der.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: {start}})
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: m.url,
        hashAlgorithm: 'SHA2_256',
        publicKey: key(m.tlog.publicKey),
        logId: {keyId: createHash('sha256').update(m.tlog.publicKey).digest('base64')},
      },
    ],
    certificateAuthorities: [
      {
        subject: {organization: 'sigstore.mock', commonName: 'sigstore'},
        uri: m.url,
        certChain: {certificates: [{rawBytes: b64(m.ca.rootCertificate)}]},
        validFor: {start},
      },
    ],
    ctlogs: [{baseUrl: m.url, hashAlgorithm: 'SHA2_256', publicKey: key(m.ctlog.publicKey), logId: {keyId: b64(m.ctlog.logID)}}],
    timestampAuthorities: m.tsa
      ? [
          {
            subject: {organization: 'sigstore.mock', commonName: 'tsa'},
            certChain: {certificates: [{rawBytes: b64(m.tsa.intCertificate)}, {rawBytes: b64(m.tsa.rootCertificate)}]},
            validFor: {start},
          },
        ]
      : [],
  }
}
