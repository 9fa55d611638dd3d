/** Signing and verifying files (sign-blob/verify-blob bundles) with keys and keyless identities. */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {fakeIdentityToken} from '../../test/support/sigstore/fake-oidc.ts'
import {startMockSigstore, type MockSigstore} from '../../test/support/sigstore/mock-sigstore.ts'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import {BlobVerificationError, signBlobKeyless, signBlobWithKey, verifyBlob} from './blob.ts'
import {signBundleWithKey, signingKeyFromPem} from './sign.ts'

const DATA = new TextEncoder().encode('abc  image-syncer-0.1.0-linux-x64\n')
const ISSUER = 'https://token.actions.githubusercontent.com'
const SUBJECT = 'https://github.com/acme/image-syncer/.github/workflows/release.yml@refs/tags/v1'
const identity = {issuer: ISSUER, subject: {kind: 'exact' as const, value: SUBJECT}}

let mock: MockSigstore
beforeAll(async () => {
  mock = await startMockSigstore()
})
afterAll(() => mock?.stop())

const failure = (run: () => unknown): string => {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(BlobVerificationError)
    return (error as Error).message
  }
  throw new Error('verified')
}

describe('keyed', () => {
  const key = makeKeyPair()
  const signing = signingKeyFromPem(key.privatePem)

  test('a bundle verifies with its key and names the key; a changed file or another key does not', async () => {
    const bundle = await signBlobWithKey(signing, DATA)
    expect(verifyBlob(DATA, bundle, {kind: 'key', pem: key.publicPem})).toEqual({kind: 'key', fingerprint: signing.fingerprint})
    expect(failure(() => verifyBlob(new TextEncoder().encode('other'), bundle, {kind: 'key', pem: key.publicPem}))).toContain('the signature does not verify')
    expect(failure(() => verifyBlob(DATA, bundle, {kind: 'key', pem: makeKeyPair().publicPem}))).toContain('the signature does not verify')
  })

  test('an image signature (DSSE) or a non-bundle is refused in one sentence', async () => {
    const dsse = await signBundleWithKey(signing, `sha256:${'ab'.repeat(32)}`)
    expect(failure(() => verifyBlob(DATA, dsse, {kind: 'key', pem: key.publicPem}))).toContain('DSSE envelope, not a signature over a file')
    expect(failure(() => verifyBlob(DATA, new TextEncoder().encode('{"x":1}'), {kind: 'key', pem: key.publicPem}))).toContain('is not a sigstore bundle')
  })
})

describe('keyless', () => {
  test('verifies by identity under the trusted root; another identity, root or a --key are refused', async () => {
    const bundle = await signBlobKeyless({data: DATA, identityToken: fakeIdentityToken({sub: SUBJECT, iss: ISSUER}), fulcioURL: mock.url, rekorURL: mock.url})
    expect(verifyBlob(DATA, bundle, {kind: 'identity', identity, trustedRoot: mock.trustedRoot})).toEqual({kind: 'identity', subject: SUBJECT, issuer: ISSUER})
    const other = {...identity, subject: {kind: 'exact' as const, value: `${SUBJECT}x`}}
    expect(failure(() => verifyBlob(DATA, bundle, {kind: 'identity', identity: other, trustedRoot: mock.trustedRoot}))).toContain('not the expected identity')
    expect(failure(() => verifyBlob(DATA, bundle, {kind: 'key', pem: makeKeyPair().publicPem}))).toContain('signed keyless')
  })
})
