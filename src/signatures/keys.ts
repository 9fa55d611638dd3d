/**
 * Private keys for `sign: {kind: key}`: loading a PEM file and signing bytes with it.
 *
 * We accept what Node's crypto can read — PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`), PKCS#1
 * (`RSA PRIVATE KEY`) and password-encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`) — but not cosign's own
 * `ENCRYPTED SIGSTORE PRIVATE KEY` format (scrypt + NaCl secretbox, cosign `pkg/cosign/keys.go`): decrypting it
 * would need a NaCl dependency for a format cosign can re-export anyway. The error says what to do instead.
 */
import {createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject} from 'node:crypto'
import type {Signer as SigstoreSigner} from '@sigstore/sign'
import {FileReadError, readUserFile} from '../files/read.ts'
import {SignatureError, canonicalPem, checkKeyType, fingerprintOfKey, keyHint, parsePublicKey} from './trust.ts'

/** A loaded signing key; `publicKey` is what verifiers are configured with. */
export interface SigningKey {
  privateKey: KeyObject
  publicKey: KeyObject
  /** SPKI PEM of the public key (what a keyed bundle's signer reports). */
  publicKeyPem: string
  /** `sha256:<hex of DER SPKI>`, as `keyFingerprint`. */
  fingerprint: string
  /** `base64(sha256(DER SPKI))`: the keyed bundle's `publicKey.hint`, as cosign writes it. */
  hint: string
}

const PEM_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/
const READABLE = new Set(['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'])

/**
 * A key file holds one PEM block of a few hundred bytes (an RSA-4096 private key is about 3.3 KiB); 64 KiB is
 * far above any key and still refuses a wrong file (or /dev/zero) at once.
 */
const MAX_KEY_FILE_BYTES = 64 * 1024

/** Reads and parses a PEM private key file; `password` is for encrypted PKCS#8. Throws `SignatureError`. */
export async function loadSigningKey(pemPath: string, password?: string): Promise<SigningKey> {
  const pem = await readKeyFile(pemPath, 'signing key', 'SIGNING_KEY_UNREADABLE')
  return signingKeyFromPem(pem, password, pemPath)
}

/**
 * Reads a public key file and returns its key as canonical SPKI PEM (see `canonicalPem`): what callers keep
 * and record is re-exported from the parsed key, never the file's text. Throws `SignatureError`.
 */
export async function readPublicKeyFile(path: string): Promise<string> {
  const pem = await readKeyFile(path, 'key file', 'PUBLIC_KEY_UNREADABLE')
  return canonicalPem(parsePublicKey(pem, `key file ${path}`))
}

async function readKeyFile(path: string, what: string, code: 'SIGNING_KEY_UNREADABLE' | 'PUBLIC_KEY_UNREADABLE'): Promise<string> {
  try {
    return (await readUserFile(path, {what, maxBytes: MAX_KEY_FILE_BYTES})).toString('utf8')
  } catch (error) {
    if (error instanceof FileReadError) throw new SignatureError(code, error.message, {path, cause: error})
    throw error
  }
}

/** `loadSigningKey` for PEM text already in memory; `path` only names the key in errors. */
export function signingKeyFromPem(pem: string, password?: string, path?: string): SigningKey {
  const what = path ? `signing key ${path}` : 'the signing key'
  const fail = (code: 'SIGNING_KEY_INVALID' | 'SIGNING_KEY_UNSUPPORTED' | 'SIGNING_KEY_PASSWORD', reason: string): never => {
    throw new SignatureError(code, `${what} ${reason}`, {path})
  }
  const label = PEM_LABEL.exec(pem)?.[1]
  if (label === undefined) return fail('SIGNING_KEY_INVALID', 'is not PEM (no -----BEGIN …----- line)')
  if (label === 'ENCRYPTED SIGSTORE PRIVATE KEY' || label === 'ENCRYPTED COSIGN PRIVATE KEY') {
    return fail(
      'SIGNING_KEY_UNSUPPORTED',
      `is a cosign-encrypted key (${label}), which is not supported; export it as PKCS#8 PEM (optionally password-encrypted, "ENCRYPTED PRIVATE KEY")`,
    )
  }
  if (!READABLE.has(label)) return fail('SIGNING_KEY_INVALID', `is a PEM "${label}", not a private key`)
  if (label === 'ENCRYPTED PRIVATE KEY' && !password) {
    return fail('SIGNING_KEY_PASSWORD', 'is encrypted and no password was given')
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(password ? {key: pem, format: 'pem', passphrase: password} : {key: pem, format: 'pem'})
  } catch (error) {
    const code = (error as {code?: string}).code ?? ''
    if (label === 'ENCRYPTED PRIVATE KEY' || code === 'ERR_MISSING_PASSPHRASE') {
      return fail('SIGNING_KEY_PASSWORD', 'could not be decrypted with the given password')
    }
    return fail('SIGNING_KEY_INVALID', 'could not be parsed as a PEM private key')
  }
  checkKeyType(privateKey, (reason) => fail('SIGNING_KEY_UNSUPPORTED', reason))
  const publicKey = createPublicKey(privateKey)
  return {
    privateKey,
    publicKey,
    publicKeyPem: canonicalPem(publicKey),
    fingerprint: fingerprintOfKey(publicKey),
    hint: keyHint(publicKey),
  }
}

/**
 * Signs bytes the way cosign does for the key type: ECDSA and RSA (PKCS#1 v1.5) over SHA-256, Ed25519 pure.
 * The digest is always explicit for EC/RSA because Bun's BoringSSL refuses an implied one (sigstore-js #1515).
 */
export function signBytes(key: SigningKey, data: Uint8Array): Buffer {
  return cryptoSign(key.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key.privateKey)
}

/** A `@sigstore/sign` signer for a local key, for its bundle builders (the library only ships keyless ones). */
export function keySigner(key: SigningKey): SigstoreSigner {
  return {
    sign: async (data: Buffer) => ({
      signature: signBytes(key, data),
      key: {$case: 'publicKey', publicKey: key.publicKeyPem, hint: key.hint},
    }),
  }
}
