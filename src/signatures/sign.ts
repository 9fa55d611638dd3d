/**
 * Making signatures for a mirrored digest, as bytes and annotations only (writing them to a registry is
 * someone else's job). Two formats, each with a key or keyless:
 *
 * - **bundle**: what cosign v3 writes — a DSSE envelope over an in-toto Statement whose subject is the image
 *   digest (predicate `https://sigstore.dev/cosign/sign/v1`), packaged as a sigstore bundle for an OCI referrer.
 * - **legacy**: what cosign v1/v2 write into `sha256-<hex>.sig` — a simple-signing payload plus annotations.
 *
 * Keyless signing goes to Fulcio/Rekor (and optionally a TSA) through `sigstore.sign`/`sigstore.attest`.
 */
import * as sigstore from 'sigstore'
import {bundleFromJSON, bundleToJSON} from '@sigstore/bundle'
import {DSSEBundleBuilder} from '@sigstore/sign'
import {isDigest} from '../ref/digest.ts'
import {keySigner, signBytes, type SigningKey} from './keys.ts'
import {COSIGN_ANNOTATIONS, certificatePem, rekorBundleFromTlogEntry} from './legacy.ts'
import {SignatureError} from './trust.ts'
import {IN_TOTO_PAYLOAD_TYPE, SIMPLE_SIGNING_TYPE} from './binding.ts'
import {COSIGN_SIGN_PREDICATE} from './types.ts'

export {loadSigningKey, signingKeyFromPem, type SigningKey} from './keys.ts'

/** A legacy `.sig` layer: its blob and its annotations. */
export interface LegacySignature {
  payload: Uint8Array
  annotations: Record<string, string>
}

/** Where keyless signing gets its certificate, log entry and (optionally) timestamp. */
export interface KeylessOptions {
  identityToken: string
  fulcioURL: string
  rekorURL: string
  /** An RFC 3161 TSA base URL; no timestamp is requested without it (cosign's default). */
  tsaURL?: string
  /** Per-request timeout; sigstore-js defaults to 5 s. */
  timeoutMs?: number
}

function requireDigest(digest: string): void {
  if (!isDigest(digest)) throw new SignatureError('DIGEST_INVALID', `${JSON.stringify(digest)} is not an image digest`)
}

/**
 * The simple-signing payload cosign signs (sigstore/sigstore `pkg/signature/payload`), byte-compatible with
 * Go's `json.Marshal`: fields in struct order and `optional: null` when there are no annotations.
 */
export function simpleSigningPayload(dockerReference: string, digest: string): Uint8Array {
  requireDigest(digest)
  const payload = {
    critical: {identity: {'docker-reference': dockerReference}, image: {'docker-manifest-digest': digest}, type: SIMPLE_SIGNING_TYPE},
    optional: null,
  }
  return new TextEncoder().encode(JSON.stringify(payload))
}

/** The in-toto Statement cosign v3 signs for an image (`signDigestBundle`): subject by digest only. */
export function imageStatement(digest: string): Uint8Array {
  requireDigest(digest)
  const [algorithm = 'sha256', hex = ''] = digest.split(':')
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{digest: {[algorithm]: hex}}],
    predicateType: COSIGN_SIGN_PREDICATE,
    predicate: {},
  }
  return new TextEncoder().encode(JSON.stringify(statement))
}

/** A keyed legacy `.sig` layer: the raw signature over the payload, base64, and nothing else (no log). */
export function signLegacyWithKey(key: SigningKey, payload: Uint8Array): LegacySignature {
  return {payload, annotations: {[COSIGN_ANNOTATIONS.signature]: signBytes(key, payload).toString('base64')}}
}

/**
 * A keyed v0.3 bundle (JSON bytes) with a DSSE envelope over `imageStatement(digest)`, key hint as cosign
 * writes it, and no witnesses: keyed signatures are trusted by the key alone, and uploading to a public log
 * from a mirror job is a decision this primitive does not make.
 */
export function signBundleWithKey(key: SigningKey, digest: string): Promise<Uint8Array> {
  return signStatementWithKey(key, imageStatement(digest))
}

/** A keyed v0.3 DSSE bundle (JSON bytes) over any in-toto statement (the image's signature, or provenance). */
export async function signStatementWithKey(key: SigningKey, statement: Uint8Array): Promise<Uint8Array> {
  const bundle = await new DSSEBundleBuilder({signer: keySigner(key), witnesses: []}).create({data: Buffer.from(statement), type: IN_TOTO_PAYLOAD_TYPE})
  return new TextEncoder().encode(JSON.stringify(bundleToJSON(bundle)))
}

/**
 * A keyless bundle (JSON bytes): `sigstore.attest` over `imageStatement(digest)`.
 *
 * `legacyCompatibility` stays **false** by default. On the public-good instance `true` would produce a v0.2
 * bundle (`x509CertificateChain`) logged as a Rekor `intoto` 0.0.2 entry instead of the v0.3 bundle
 * (`certificate`) with a `dsse` 0.0.1 entry cosign v3 writes; the referrer's artifactType claims v0.3, and
 * `intoto` is the entry kind Rekor is moving away from (Rekor v2 has none). The notes suggested `true` only
 * because sigstore-js's mock Rekor (a test-only package) logs a `dsse` request verbatim (notes §4), which
 * sigstore-js then cannot verify; our test mock rewrites such requests into the body real Rekor stores.
 */
export function signBundleKeyless(options: KeylessOptions & {digest: string; legacyCompatibility?: boolean}): Promise<Uint8Array> {
  return signStatementKeyless({...options, statement: imageStatement(options.digest)})
}

/** A keyless DSSE bundle (JSON bytes) over any in-toto statement, as `signBundleKeyless`. */
export async function signStatementKeyless(options: KeylessOptions & {statement: Uint8Array; legacyCompatibility?: boolean}): Promise<Uint8Array> {
  const statement = Buffer.from(options.statement)
  const bundle = await keylessCall('attest', () =>
    sigstore.attest(statement, IN_TOTO_PAYLOAD_TYPE, {...signOptions(options), legacyCompatibility: options.legacyCompatibility ?? false}),
  )
  return new TextEncoder().encode(JSON.stringify(bundle))
}

/**
 * A keyless legacy `.sig` layer: `sigstore.sign` over the payload (a `hashedrekord` entry, as cosign), mapped to
 * cosign's annotations. `chain` is written empty: sigstore-js keeps only the leaf, and verifiers take the
 * intermediates from their trusted root (cosign does the same when the annotation is empty).
 */
export async function signLegacyKeyless(options: KeylessOptions & {payload: Uint8Array}): Promise<LegacySignature> {
  const serialized = await keylessCall('sign', () => sigstore.sign(Buffer.from(options.payload), signOptions(options)))
  const bundle = bundleFromJSON(serialized)
  const material = bundle.verificationMaterial
  const der =
    material.content.$case === 'x509CertificateChain'
      ? material.content.x509CertificateChain.certificates[0]?.rawBytes
      : material.content.$case === 'certificate'
        ? material.content.certificate.rawBytes
        : undefined
  if (bundle.content.$case !== 'messageSignature' || der === undefined) {
    throw new SignatureError('SIGNING_FAILED', 'keyless signing returned a bundle without a message signature and certificate')
  }
  const annotations: Record<string, string> = {
    [COSIGN_ANNOTATIONS.signature]: bundle.content.messageSignature.signature.toString('base64'),
    [COSIGN_ANNOTATIONS.certificate]: certificatePem(der),
    [COSIGN_ANNOTATIONS.chain]: '',
  }
  const entry = material.tlogEntries[0]
  const rekorBundle = entry ? rekorBundleFromTlogEntry(entry) : null
  if (rekorBundle === null) throw new SignatureError('SIGNING_FAILED', 'the transparency log returned no signed entry timestamp for the signature')
  annotations[COSIGN_ANNOTATIONS.bundle] = rekorBundle
  const token = material.timestampVerificationData?.rfc3161Timestamps[0]
  if (token) annotations[COSIGN_ANNOTATIONS.timestamp] = JSON.stringify({SignedRFC3161Timestamp: token.signedTimestamp.toString('base64')})
  return {payload: options.payload, annotations}
}

export function signOptions(options: KeylessOptions): sigstore.SignOptions {
  return {
    identityToken: options.identityToken,
    fulcioURL: options.fulcioURL,
    rekorURL: options.rekorURL,
    ...(options.tsaURL === undefined ? {} : {tsaServerURL: options.tsaURL}),
    ...(options.timeoutMs === undefined ? {} : {timeout: options.timeoutMs}),
  }
}

/** Runs a sigstore-js signing call, turning its errors into one-sentence `SIGNING_FAILED` errors with the code. */
export async function keylessCall<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    const code = (error as {code?: unknown}).code
    const detail = error instanceof Error ? error.message : String(error)
    throw new SignatureError('SIGNING_FAILED', `keyless ${what} failed: ${detail}${typeof code === 'string' ? ` (${code})` : ''}`, {cause: error})
  }
}

/**
 * The OIDC token for keyless signing: `SYNCER_OIDC_TOKEN` if set, else GitHub Actions' id-token endpoint
 * (audience `sigstore`, as cosign and sigstore-js ask for). Tokens never appear in error messages.
 */
export async function keylessToken(env: Record<string, string | undefined> = process.env): Promise<string> {
  const direct = env['SYNCER_OIDC_TOKEN']?.trim()
  if (direct) return requireJwt(direct, 'SYNCER_OIDC_TOKEN')
  const url = env['ACTIONS_ID_TOKEN_REQUEST_URL']
  const bearer = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']
  if (url && bearer) return requireJwt(await githubActionsToken(url, bearer), 'the GitHub Actions OIDC token')
  throw new SignatureError(
    'OIDC_TOKEN_UNAVAILABLE',
    'keyless signing needs an OIDC token: set SYNCER_OIDC_TOKEN, or run in GitHub Actions with "permissions: id-token: write"',
  )
}

async function githubActionsToken(requestURL: string, bearer: string): Promise<string> {
  const failed = (reason: string, cause?: unknown) => new SignatureError('OIDC_TOKEN_FAILED', `the GitHub Actions OIDC token request ${reason}`, {cause})
  let url: URL
  try {
    url = new URL(requestURL)
  } catch (error) {
    throw failed('has an invalid ACTIONS_ID_TOKEN_REQUEST_URL', error)
  }
  url.searchParams.set('audience', 'sigstore')
  let response: Response
  try {
    response = await fetch(url, {
      headers: {Accept: 'application/json', Authorization: `Bearer ${bearer}`},
      signal: AbortSignal.timeout(10_000),
    })
  } catch (error) {
    throw failed(`failed (${error instanceof Error ? error.message : String(error)})`, error)
  }
  if (!response.ok) throw failed(`failed (HTTP ${response.status})`)
  const body = (await response.json().catch(() => null)) as {value?: unknown} | null
  if (typeof body?.value !== 'string' || body.value === '') throw failed('answered without a token ("value")')
  return body.value
}

function requireJwt(token: string, what: string): string {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    throw new SignatureError('OIDC_TOKEN_FAILED', `${what} is not a JWT (header.payload.signature)`)
  }
  return token
}
