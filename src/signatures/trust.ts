/**
 * What signatures are checked against: the sigstore trusted root (Fulcio CAs, Rekor and CT logs, TSAs) and
 * plain public keys, plus the one error type of this layer.
 *
 * The trusted root is loaded without TUF on purpose: TUF needs the network and a writable cache directory
 * (see ../shared/docs/sigstore-notes.md §2.2), while a copy tool must verify offline and from a read-only
 * binary. So the public-good root comes from the snapshot `@sigstore/tuf` ships in `seeds.json` (embedded in
 * the compiled binary), and anything fresher or private is a TrustedRoot JSON file the user points at.
 */
import {SyncerError} from '../ref/errors.ts'
import {createHash, createPublicKey, type KeyObject} from 'node:crypto'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import seeds from '@sigstore/tuf/seeds.json'
import {toTrustMaterial} from '@sigstore/verify'
import {FileReadError, readUserFile} from '../files/read.ts'
import type {TrustedRootSource} from './types.ts'

/** Why signature configuration or signing failed; callers branch on `code`, never on the message. */
export type SignatureErrorCode =
  /** The signature material next to one digest exceeds what we read (MAX_SIGNATURE_BYTES_TOTAL in discover.ts). */
  | 'SIGNATURES_TOO_LARGE'
  /** The trusted root file could not be read. */
  | 'TRUSTED_ROOT_UNREADABLE'
  /** The trusted root is not JSON, not a sigstore TrustedRoot, or holds keys/certificates that do not parse. */
  | 'TRUSTED_ROOT_INVALID'
  /** A configured public key is not a usable PEM public key. */
  | 'PUBLIC_KEY_INVALID'
  /** A public key file could not be read (missing, not a regular file, too large). */
  | 'PUBLIC_KEY_UNREADABLE'
  /** A keyless identity has an issuer or subject pattern that cannot be used. */
  | 'IDENTITY_INVALID'
  /** The signing key file could not be read. */
  | 'SIGNING_KEY_UNREADABLE'
  /** The signing key file is not a PEM private key we can parse. */
  | 'SIGNING_KEY_INVALID'
  /** The signing key is of a kind or format we do not support (cosign-encrypted, P-384, …). */
  | 'SIGNING_KEY_UNSUPPORTED'
  /** The signing key is encrypted and the password is missing or wrong. */
  | 'SIGNING_KEY_PASSWORD'
  /** Legacy cosign annotations that cannot be turned into a sigstore bundle. */
  | 'LEGACY_FORMAT_INVALID'
  /** A digest passed to a signing primitive is not `sha256:<hex>` / `sha512:<hex>`. */
  | 'DIGEST_INVALID'
  /** Keyless signing was asked for but no OIDC token source is available. */
  | 'OIDC_TOKEN_UNAVAILABLE'
  /** An OIDC token source exists but did not give a usable token. */
  | 'OIDC_TOKEN_FAILED'
  /** Fulcio, Rekor or the TSA refused or failed while signing. */
  | 'SIGNING_FAILED'
  /** A file's signature bundle is malformed, does not verify, or comes from someone else (verify-blob). */
  | 'BLOB_UNVERIFIED'
  /** The image a verify/sign command was pointed at does not exist (used by the registry-facing callers). */
  | 'IMAGE_NOT_FOUND'

export interface SignatureErrorOptions extends ErrorOptions {
  /** The file the failure concerns (trusted root, key); a path, never its contents. */
  path?: string
}

/** The signature layer's error: a one-sentence message naming the file or value at fault, and a `code`. */
export class SignatureError extends SyncerError {
  override readonly name = 'SignatureError'
  readonly code: SignatureErrorCode
  readonly path: string | undefined

  /** Too much signature material is what a registry served (an entry's failure); the rest is policy and trust. */
  get category(): 'content' | 'signature' {
    return this.code === 'SIGNATURES_TOO_LARGE' ? 'content' : 'signature'
  }

  constructor(code: SignatureErrorCode, message: string, options: SignatureErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.code = code
    this.path = options.path
  }
}

/** The key of `seeds.json` that holds the public-good instance (the default TUF mirror). */
const PUBLIC_GOOD_MIRROR = 'https://tuf-repo-cdn.sigstore.dev'

const TRUSTED_ROOT_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\+json;version=0\.\d+|\.v0\.\d+\+json)$/

/**
 * A root that trusts nothing. Keyed verification uses it so that a key is the only thing trusted: no CA, log
 * or TSA can vouch for a signature.
 */
export const EMPTY_TRUSTED_ROOT: TrustedRoot = TrustedRoot.fromJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
})

let publicGood: TrustedRoot | undefined

/**
 * Loads the trusted root a policy names. The public-good root is the snapshot embedded in `@sigstore/tuf`:
 * it goes stale when sigstore rotates keys, which is why a file can be given instead.
 */
export async function loadTrustedRoot(source: TrustedRootSource): Promise<TrustedRoot> {
  if (source.kind === 'public-good') {
    publicGood ??= publicGoodTrustedRoot()
    return publicGood
  }
  const text = (await readTrustedRootFile(source.path)).toString('utf8')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new SignatureError('TRUSTED_ROOT_INVALID', `trusted root ${source.path} is not valid JSON`, {path: source.path})
  }
  return parseTrustedRoot(json, `trusted root ${source.path}`, source.path)
}

/**
 * The public-good trusted_root.json is about 10 KiB; 4 MiB leaves room for a private root with many CAs and
 * logs and still refuses a wrong file (or /dev/zero) in one sentence.
 */
const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024

/** The bytes of a trusted root file, bounded; plan pins them by sha256, so both readers must read alike. */
export async function readTrustedRootFile(path: string): Promise<Buffer> {
  try {
    return await readUserFile(path, {what: 'trusted root', maxBytes: MAX_TRUSTED_ROOT_BYTES})
  } catch (error) {
    if (error instanceof FileReadError) throw new SignatureError('TRUSTED_ROOT_UNREADABLE', error.message, {path, cause: error})
    throw error
  }
}

function publicGoodTrustedRoot(): TrustedRoot {
  const mirror = (seeds as Record<string, {targets?: Record<string, string>}>)[PUBLIC_GOOD_MIRROR]
  const encoded = mirror?.targets?.['trusted_root.json']
  if (encoded === undefined) {
    throw new SignatureError('TRUSTED_ROOT_INVALID', 'the public-good trusted root is missing from @sigstore/tuf seeds.json')
  }
  return parseTrustedRoot(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')), 'the embedded public-good trusted root')
}

/**
 * Validates a parsed TrustedRoot. `TrustedRoot.fromJSON` accepts anything (`{}` becomes an empty root), so the
 * media type is checked, an empty root is refused, and every key and certificate is parsed once here so a bad
 * file fails at load time rather than as a confusing verification failure later.
 */
function parseTrustedRoot(json: unknown, what: string, path?: string): TrustedRoot {
  const fail = (reason: string, cause?: unknown): never => {
    throw new SignatureError('TRUSTED_ROOT_INVALID', `${what} ${reason}`, {path, cause})
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('is not a JSON object')
  const mediaType = (json as {mediaType?: unknown}).mediaType
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPE.test(mediaType)) {
    fail(`is not a sigstore trusted root (mediaType ${JSON.stringify(mediaType ?? null)})`)
  }
  const root = TrustedRoot.fromJSON(json)
  if (root.certificateAuthorities.length === 0 && root.tlogs.length === 0 && root.timestampAuthorities.length === 0) {
    fail('has no certificate authorities, transparency logs or timestamp authorities')
  }
  try {
    toTrustMaterial(root)
  } catch (error) {
    fail(`has an unusable key or certificate (${(error as Error).message})`, error)
  }
  const unbounded = withoutValidityStart(root)
  if (unbounded !== null) fail(`has ${unbounded} without a validity start (validFor.start), which a trusted root must give`)
  return root
}

/**
 * The first authority or log whose validity has no start, or null. sigstore-js reads a missing start as 1970,
 * so a key would vouch for signatures made before it existed; sigstore-go and sigstore-python refuse such a root.
 */
function withoutValidityStart(root: TrustedRoot): string | null {
  const id = (keyId: Buffer | undefined) => (keyId === undefined ? '' : ` ${keyId.toString('base64')}`)
  const tlog = root.tlogs.find((log) => log.publicKey?.validFor?.start === undefined)
  if (tlog) return `the transparency log${id(tlog.logId?.keyId)}`
  const ctlog = root.ctlogs.find((log) => log.publicKey?.validFor?.start === undefined)
  if (ctlog) return `the certificate transparency log${id(ctlog.logId?.keyId)}`
  const ca = root.certificateAuthorities.find((authority) => authority.validFor?.start === undefined)
  if (ca) return `the certificate authority ${JSON.stringify(ca.uri)}`
  const tsa = root.timestampAuthorities.find((authority) => authority.validFor?.start === undefined)
  if (tsa) return `the timestamp authority ${JSON.stringify(tsa.uri)}`
  return null
}

const PEM_LABELS = /-----BEGIN ([A-Z0-9 ]+)-----/g
/** One PEM block and nothing else but whitespace; the label is checked separately, for a better message. */
const SINGLE_PEM_BLOCK = /^\s*-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\s]*-----END \1-----\s*$/

/**
 * Parses a PEM public key (`PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`) of a type sigstore-js can verify with:
 * ECDSA P-256, RSA of at least 2048 bits, Ed25519. `createPublicKey` alone would also accept a private key or
 * a certificate and quietly derive a key, which hides a configuration mistake, so the PEM label is checked.
 * The text must be exactly one such block: `createPublicKey` reads the first block and ignores the rest, so a
 * `PUBLIC KEY` followed by a `PRIVATE KEY` would pass and the private key would travel with the public one.
 * Messages never quote the text. P-384/P-521 are refused because sigstore-js verifies DSSE with the key's
 * implied SHA-256 (notes §2.3).
 */
export function parsePublicKey(pem: string, origin = 'public key'): KeyObject {
  const fail = (reason: string, cause?: unknown): never => {
    throw new SignatureError('PUBLIC_KEY_INVALID', `${origin} ${reason}`, {cause})
  }
  const labels = [...pem.matchAll(PEM_LABELS)].map((m) => m[1]!)
  const label = labels[0]
  if (label === undefined) fail('is not PEM (no -----BEGIN …----- line)')
  if (labels.length > 1) {
    const secret = labels.some((l) => l.includes('PRIVATE')) ? ', one of them a private key (treat it as exposed)' : ''
    fail(`holds ${labels.length} PEM blocks (${labels.join(', ')})${secret}; a public key file must hold exactly one "PUBLIC KEY" block`)
  }
  if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY') {
    fail(`is a PEM "${label}", not a public key; give the "PUBLIC KEY" file (e.g. cosign.pub)`)
  }
  if (!SINGLE_PEM_BLOCK.test(pem)) fail(`has text outside its "${label}" block (or a malformed block); a public key file must hold the block alone`)
  let key: KeyObject | undefined
  try {
    key = createPublicKey(pem)
  } catch (error) {
    fail('could not be parsed as a PEM public key', error)
  }
  checkKeyType(key!, (reason) => fail(reason))
  return key!
}

/**
 * The key as SPKI PEM, re-exported from the parsed key: the only form of a public key that is written to a plan
 * or compared, so nothing of the original file (comments, other blocks) is ever copied.
 */
export function canonicalPem(key: KeyObject): string {
  return key.export({format: 'pem', type: 'spki'}).toString()
}

/**
 * Refuses key types sigstore-js cannot verify reliably; shared by public and private keys. `fail` throws.
 */
export function checkKeyType(key: KeyObject, fail: (reason: string) => never): void {
  const type = key.asymmetricKeyType
  if (type === 'ed25519') return
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (curve === 'prime256v1' || curve === 'P-256') return
    fail(`is an ECDSA key on ${curve ?? 'an unknown curve'}; only P-256 is supported (sigstore verifies with SHA-256)`)
  }
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits >= 2048) return
    fail(`is a ${bits}-bit RSA key; at least 2048 bits are required`)
  }
  fail(`is a ${type ?? 'unknown'} key; only ECDSA P-256, RSA and Ed25519 are supported`)
}

/** The DER SubjectPublicKeyInfo of a key: what fingerprints and bundle key hints are computed over. */
function spkiDer(key: KeyObject): Buffer {
  return key.export({format: 'der', type: 'spki'})
}

/**
 * `sha256:<hex of the DER SPKI>`: names a key in reports and plans, stable across PEM re-encodings. Throws
 * `PUBLIC_KEY_INVALID` like `parsePublicKey`; `origin` (e.g. the key's path) names the key in that message.
 */
export function keyFingerprint(pem: string, origin?: string): string {
  return fingerprintOfKey(parsePublicKey(pem, origin))
}

/** `keyFingerprint` of a key already parsed (e.g. the public half of a signing key). */
export function fingerprintOfKey(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(spkiDer(key)).digest('hex')}`
}

/** `base64(sha256(DER SPKI))`: the `publicKey.hint` cosign and sigstore-go write into keyed bundles. */
export function keyHint(key: KeyObject): string {
  return createHash('sha256').update(spkiDer(key)).digest('base64')
}
