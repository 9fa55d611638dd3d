/**
 * Verifying a signature given only the digest of what was signed. verify-blob hashes a file as a stream (a
 * release binary need not fit in memory) or is given `sha256:<hex>` alone, while `crypto.verify` always hashes
 * the message itself and has no pre-hashed mode. ECDSA and RSA PKCS#1 v1.5 sign the digest, so they can be
 * checked from it: RSA by recovering the DigestInfo with `publicDecrypt`, ECDSA by the textbook equation
 * below (public values only, so constant time does not matter). Ed25519 and RSA-PSS are not supported here.
 */
import {constants, publicDecrypt, type KeyObject} from 'node:crypto'

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

interface Curve {
  p: bigint
  n: bigint
  g: Point
}
type Point = {x: bigint; y: bigint} | null

/** NIST curves (FIPS 186-4 D.1.2), both with a = -3. */
const CURVES: Record<string, Curve> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    g: {x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n, y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n},
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    g: {
      x: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
      y: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    },
  },
}

function curveOf(key: KeyObject): Curve | undefined {
  const name = key.asymmetricKeyDetails?.namedCurve
  if (name === 'prime256v1' || name === 'P-256') return CURVES['P-256']
  if (name === 'secp384r1' || name === 'P-384') return CURVES['P-384']
  return undefined
}

/** SEC 1 §4.1.4, with the digest truncated to the order's bit length. */
function verifyEcdsa(curve: Curve, key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const rs = parseDerSignature(signature)
  if (rs === null) return false
  const {n} = curve
  const [r, s] = rs
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false
  const jwk = key.export({format: 'jwk'})
  const q: Point = {x: fromBase64Url(jwk.x ?? ''), y: fromBase64Url(jwk.y ?? '')}
  const excess = digest.length * 8 - n.toString(2).length
  const e = excess > 0 ? toBigInt(digest) >> BigInt(excess) : toBigInt(digest)
  const w = invert(s, n)
  const point = add(curve, multiply(curve, curve.g, (e * w) % n), multiply(curve, q, (r * w) % n))
  return point !== null && point.x % n === r
}

function add({p}: Curve, a: Point, b: Point): Point {
  if (a === null) return b
  if (b === null) return a
  if (a.x === b.x && (a.y + b.y) % p === 0n) return null
  const slope = a.x === b.x ? mod(3n * (a.x * a.x - 1n) * invert(2n * a.y, p), p) : mod((b.y - a.y) * invert(b.x - a.x, p), p)
  const x = mod(slope * slope - a.x - b.x, p)
  return {x, y: mod(slope * (a.x - x) - a.y, p)}
}

function multiply(curve: Curve, point: Point, scalar: bigint): Point {
  let result: Point = null
  let addend = point
  for (let k = scalar; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(curve, result, addend)
    addend = add(curve, addend, addend)
  }
  return result
}

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m

/** Extended Euclid; `m` is prime and `a` not a multiple of it (checked by the callers' ranges). */
function invert(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n]
  while (r1 !== 0n) {
    const q = r0 / r1
    ;[r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1]
  }
  return mod(s0, m)
}

/** `SEQUENCE { INTEGER r, INTEGER s }` with short lengths (every signature up to P-384), else null. */
function parseDerSignature(der: Buffer): [bigint, bigint] | null {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return null
  const integers: bigint[] = []
  let at = 2
  for (let i = 0; i < 2; i++) {
    if (der[at] !== 0x02) return null
    const length = der[at + 1] ?? 0
    if (length === 0 || length > 0x7f || at + 2 + length > der.length) return null
    integers.push(toBigInt(der.subarray(at + 2, at + 2 + length)))
    at += 2 + length
  }
  return at === der.length ? [integers[0]!, integers[1]!] : null
}

const toBigInt = (bytes: Buffer): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`))
const fromBase64Url = (text: string): bigint => toBigInt(Buffer.from(text, 'base64url'))
