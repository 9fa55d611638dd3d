/** Signatures checked from the digest alone must agree with `crypto.verify` over the whole message. */
import {describe, expect, test} from 'bun:test'
import {createHash, generateKeyPairSync, sign} from 'node:crypto'
import {type HashName, prehashProblem, verifyPrehashed} from './prehashed.ts'

const MESSAGE = Buffer.from('abc  image-syncer-0.1.0-linux-x64\n')
const digest = (hash: HashName, data: Buffer) => createHash(hash).update(data).digest()

const KEYS = [
  {name: 'ECDSA P-256', make: () => generateKeyPairSync('ec', {namedCurve: 'P-256'}), hashes: ['sha256', 'sha384', 'sha512'] as HashName[]},
  {name: 'ECDSA P-384', make: () => generateKeyPairSync('ec', {namedCurve: 'P-384'}), hashes: ['sha256', 'sha384', 'sha512'] as HashName[]},
  {name: 'RSA 2048', make: () => generateKeyPairSync('rsa', {modulusLength: 2048}), hashes: ['sha256', 'sha512'] as HashName[]},
]

describe.each(KEYS)('$name', ({make, hashes}) => {
  const pair = make()
  test.each(hashes)('a %s signature verifies from the digest; another digest, key or signature does not', (hash) => {
    for (let round = 0; round < 5; round++) {
      const message = Buffer.concat([MESSAGE, Buffer.from([round])])
      const signature = sign(hash, message, pair.privateKey)
      expect(verifyPrehashed(pair.publicKey, hash, digest(hash, message), signature)).toBe(true)
      expect(verifyPrehashed(pair.publicKey, hash, digest(hash, MESSAGE), signature)).toBe(false)
      const flipped = Buffer.from(signature)
      flipped[flipped.length - 1]! ^= 1
      expect(verifyPrehashed(pair.publicKey, hash, digest(hash, message), flipped)).toBe(false)
    }
    const other = make()
    expect(verifyPrehashed(other.publicKey, hash, digest(hash, MESSAGE), sign(hash, MESSAGE, pair.privateKey))).toBe(false)
    expect(prehashProblem(pair.publicKey)).toBeNull()
  })
})

test('an Ed25519 key signs the message itself: refused in one sentence, never "verified"', () => {
  const pair = generateKeyPairSync('ed25519')
  expect(prehashProblem(pair.publicKey)).toContain('cannot be checked from a digest')
  expect(verifyPrehashed(pair.publicKey, 'sha256', digest('sha256', MESSAGE), sign(null, MESSAGE, pair.privateKey))).toBe(false)
})

test('a malformed DER signature is false, not an exception', () => {
  const pair = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  for (const bad of [Buffer.alloc(0), Buffer.from('3006020100020100', 'hex'), Buffer.from('300702010102010100', 'hex')]) {
    expect(verifyPrehashed(pair.publicKey, 'sha256', digest('sha256', MESSAGE), bad)).toBe(false)
  }
})
