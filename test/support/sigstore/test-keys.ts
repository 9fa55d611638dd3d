/**
 * Key pairs made in the test (never committed), in the PEM encodings users hand to image-syncer.
 */
import {generateKeyPairSync, type KeyObject} from 'node:crypto'

export type KeyKind = 'p256' | 'rsa' | 'ed25519'

export interface TestKeyPair {
  kind: KeyKind
  publicKey: KeyObject
  privateKey: KeyObject
  /** SPKI `PUBLIC KEY` PEM, like cosign.pub. */
  publicPem: string
  /** Unencrypted PKCS#8 `PRIVATE KEY` PEM. */
  privatePem: string
}

export function makeKeyPair(kind: KeyKind = 'p256'): TestKeyPair {
  const pair =
    kind === 'p256'
      ? generateKeyPairSync('ec', {namedCurve: 'P-256'})
      : kind === 'rsa'
        ? generateKeyPairSync('rsa', {modulusLength: 2048})
        : generateKeyPairSync('ed25519')
  return {
    kind,
    publicKey: pair.publicKey,
    privateKey: pair.privateKey,
    publicPem: pair.publicKey.export({format: 'pem', type: 'spki'}).toString(),
    privatePem: pair.privateKey.export({format: 'pem', type: 'pkcs8'}).toString(),
  }
}
