/**
 * Signed in-toto statements as cosign writes them, made with a test key and `@sigstore/sign` directly (not the
 * product's signing code): a v0.3 DSSE bundle (cosign v3 `sign`/`attest --key`) and the bare DSSE envelope of a
 * legacy `.att` layer. The predicate type decides what the statement is: cosign's signing predicate makes a
 * signature, any other an attestation.
 */
import {createHash, sign} from 'node:crypto'
import {bundleToJSON} from '@sigstore/bundle'
import {DSSEBundleBuilder} from '@sigstore/sign'
import type {TestKeyPair} from './test-keys.ts'

export const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1'
export const COSIGN_ATTESTATION = 'https://cosign.sigstore.dev/attestation/v1'
export const SLSA_V1 = 'https://slsa.dev/provenance/v1'

/** An in-toto v1 statement about `digest` (`sha256:…`). */
export function statement(digest: string, predicateType: string): Buffer {
  const [algorithm, hex] = digest.split(':')
  return Buffer.from(JSON.stringify({_type: 'https://in-toto.io/Statement/v1', subject: [{digest: {[algorithm!]: hex}}], predicateType, predicate: {}}))
}

/** A keyed v0.3 bundle (JSON bytes) over the statement, with no log or timestamp. */
export async function statementBundle(key: TestKeyPair, digest: string, predicateType: string): Promise<Uint8Array> {
  const spki = key.publicKey.export({format: 'der', type: 'spki'})
  const signer = {
    sign: async (data: Buffer) => ({
      signature: sign(key.kind === 'ed25519' ? null : 'sha256', data, key.privateKey),
      key: {$case: 'publicKey' as const, publicKey: key.publicPem, hint: createHash('sha256').update(spki).digest('base64')},
    }),
  }
  const bundle = await new DSSEBundleBuilder({signer, witnesses: []}).create({data: statement(digest, predicateType), type: 'application/vnd.in-toto+json'})
  return new TextEncoder().encode(JSON.stringify(bundleToJSON(bundle)))
}

/** The DSSE envelope JSON of a legacy `.att` layer: the same signed statement, without a bundle around it. */
export async function attestationEnvelope(key: TestKeyPair, digest: string, predicateType: string): Promise<Uint8Array> {
  const bundle = JSON.parse(new TextDecoder().decode(await statementBundle(key, digest, predicateType))) as {dsseEnvelope: unknown}
  return new TextEncoder().encode(JSON.stringify(bundle.dsseEnvelope))
}
