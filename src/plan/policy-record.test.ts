/** What of a signature policy the plan records: public keys only as the canonical PEM of the parsed key. */
import {describe, expect, test} from 'bun:test'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import type {SignaturePolicy} from '../signatures/types.ts'
import {SignatureError, fingerprintOfKey} from '../signatures/trust.ts'
import {recordPolicy} from './policy-record.ts'

const pair = makeKeyPair('p256')
const other = makeKeyPair('p256')

function policy(pem: string): SignaturePolicy {
  return {
    verify: 'required',
    keys: [{path: '/keys/vendor.pub', pem}],
    identities: [],
    trustedRoot: {kind: 'public-good'},
    copy: true,
    sign: null,
    attestations: [],
  }
}

describe('recordPolicy', () => {
  test('records the key as SPKI PEM re-exported from the parsed key, with its fingerprint', async () => {
    const record = await recordPolicy(policy(`\n${pair.publicPem.replaceAll('\n', '\r\n')}\n`))
    expect(record.keys).toStrictEqual([{fingerprint: fingerprintOfKey(pair.publicKey), pem: pair.publicPem}])
  })

  test('a PEM text carrying a private key block after the public key never reaches the record', async () => {
    const error = await recordPolicy(policy(pair.publicPem + other.privatePem)).then(
      (record) => record,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(SignatureError)
    expect((error as SignatureError).code).toBe('PUBLIC_KEY_INVALID')
    expect((error as SignatureError).message).not.toContain(other.privatePem.split('\n')[1]!)
  })
})
