/**
 * Verifying a signature given only the digest of what was signed. verify-blob hashes a file as a stream (a
 * release binary need not fit in memory) or is given `sha256:<hex>` alone, while `crypto.verify` always hashes
 * the message itself and has no pre-hashed mode. ECDSA and RSA PKCS#1 v1.5 sign the digest, so they can be
 * checked from it: RSA by recovering the DigestInfo with `publicDecrypt`, ECDSA with @noble/curves (audited,
 * verifies a given digest). Ed25519 and RSA-PSS sign the message itself and are not supported here.
 */
import {constants, publicDecrypt, type KeyObject} from 'node:crypto'
import type {ECDSA} from '@noble/curves/abstract/weierstrass.js'
import {p256, p384} from '@noble/curves/nist.js'

export type HashName = 'sha256' | 'sha384' | 'sha512'

/** Why a key cannot be checked against a digest, or null when `verifyPrehashed` can. */
export function prehashProblem(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'rsa') return null
  if (key.asymmetricKeyType === 'ec' && curveOf(key) !== undefined) return null
  const what = key.asymmetricKeyType === 'ec' ? `an ECDSA ${key.asymmetricKeyDetails?.namedCurve ?? ''} key` : `an ${key.asymmetricKeyType ?? 'unknown'} key`
  return `the signature was made with ${what}, which signs the whole file rather than its digest, so it cannot be checked from a digest`
}

/** Whether `signature` (DER ECDSA, or RSA PKCS#1 v1.5) by `key` covers `digest`, a `hash` digest. */
export function verifyPrehashed(key: KeyObject, hash: HashName, digest: Buffer, signature: Buffer): boolean {
  try {
    if (key.asymmetricKeyType === 'rsa') return verifyRsa(key, hash, digest, signature)
    const curve = curveOf(key)
    return curve !== undefined && verifyEcdsa(curve, key, digest, signature)
  } catch {
    return false
  }
}

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1). */
const DIGEST_INFO: Record<HashName, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
}

function verifyRsa(key: KeyObject, hash: HashName, digest: Buffer, signature: Buffer): boolean {
  const recovered = publicDecrypt({key, padding: constants.RSA_PKCS1_PADDING}, signature)
  return recovered.equals(Buffer.concat([Buffer.from(DIGEST_INFO[hash], 'hex'), digest]))
}

/** Named curves as Node reports them, to the audited implementation that verifies a digest (no re-hashing). */
const CURVES: Record<string, ECDSA> = {prime256v1: p256, 'P-256': p256, secp384r1: p384, 'P-384': p384}

function curveOf(key: KeyObject): ECDSA | undefined {
  return CURVES[key.asymmetricKeyDetails?.namedCurve ?? '']
}

/**
 * SEC 1 §4.1.4 over the digest. lowS is off: OpenSSL, Go and cosign make signatures of either s. The key is
 * Node's, so it was checked on the curve when it was imported; the uncompressed point is rebuilt from its JWK.
 */
function verifyEcdsa(curve: ECDSA, key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const jwk = key.export({format: 'jwk'})
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')])
  return curve.verify(signature, digest, point, {prehash: false, lowS: false, format: 'der'})
}
