/** Signing and verifying files (sign-blob/verify-blob bundles) with keys and keyless identities. */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {fakeIdentityToken} from '../../test/support/sigstore/fake-oidc.ts'
import {startMockSigstore, type MockSigstore} from '../../test/support/sigstore/mock-sigstore.ts'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import {type BlobTrust, BlobVerificationError, signBlobKeyless, signBlobWithKey, verifyBlob} from './blob.ts'
import {signBundleWithKey, signingKeyFromPem} from './sign.ts'
import {loadTrustedRoot} from './trust.ts'

const DATA = new TextEncoder().encode('abc  image-syncer-0.1.0-linux-x64\n')
const ISSUER = 'https://token.actions.githubusercontent.com'
const SUBJECT = 'https://github.com/acme/image-syncer/.github/workflows/release.yml@refs/tags/v1'
const identity = {issuer: ISSUER, subject: {kind: 'exact' as const, value: SUBJECT}}

/** sigstore-conformance's cases (test/fixtures/sigstore-conformance/README.md). */
const CONFORMANCE = join(import.meta.dir, '../../test/fixtures/sigstore-conformance/bundle-verify')
const conformance = (name: string, file: string) => readFileSync(join(CONFORMANCE, name, file))
const A_TXT = readFileSync(join(CONFORMANCE, 'a.txt'))

let mock: MockSigstore
let publicGood: TrustedRoot
const keyed = (pem: string, trustedRoot = publicGood): BlobTrust => ({kind: 'key', pem, trustedRoot})
beforeAll(async () => {
  mock = await startMockSigstore()
  publicGood = await loadTrustedRoot({kind: 'public-good'})
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
    expect(verifyBlob(DATA, bundle, keyed(key.publicPem))).toEqual({kind: 'key', fingerprint: signing.fingerprint})
    expect(failure(() => verifyBlob(new TextEncoder().encode('other'), bundle, keyed(key.publicPem)))).toContain('the signature does not verify')
    expect(failure(() => verifyBlob(DATA, bundle, keyed(makeKeyPair().publicPem)))).toContain('the signature does not verify')
  })

  test('a cosign sign-blob --key bundle with a Rekor entry verifies under the trusted root in force (public-good, or a given one)', async () => {
    const pem = conformance('managed-key-happy-path', 'key.pub').toString('utf8')
    expect(verifyBlob(A_TXT, conformance('managed-key-happy-path', 'bundle.sigstore.json'), keyed(pem)).kind).toBe('key')
    const given = await loadTrustedRoot({kind: 'file', path: join(CONFORMANCE, 'managed-key-and-trusted-root', 'trusted_root.json')})
    const pem2 = conformance('managed-key-and-trusted-root', 'key.pub').toString('utf8')
    expect(verifyBlob(A_TXT, conformance('managed-key-and-trusted-root', 'bundle.sigstore.json'), keyed(pem2, given)).kind).toBe('key')
  })

  test("a keyed bundle's log entry is checked, not ignored: a log the root does not know, or a forged entry time, fails", () => {
    const pem = conformance('managed-key-happy-path', 'key.pub').toString('utf8')
    const bundle = conformance('managed-key-happy-path', 'bundle.sigstore.json')
    expect(failure(() => verifyBlob(A_TXT, bundle, keyed(pem, mock.trustedRoot)))).toContain('the signature does not verify')
    const json = JSON.parse(bundle.toString('utf8'))
    json.verificationMaterial.tlogEntries[0].integratedTime = String(Number(json.verificationMaterial.tlogEntries[0].integratedTime) + 1)
    expect(failure(() => verifyBlob(A_TXT, new TextEncoder().encode(JSON.stringify(json)), keyed(pem)))).toContain('TLOG')
  })

  test('an image signature (DSSE) or a non-bundle is refused in one sentence', async () => {
    const dsse = await signBundleWithKey(signing, `sha256:${'ab'.repeat(32)}`)
    expect(failure(() => verifyBlob(DATA, dsse, keyed(key.publicPem)))).toContain('DSSE envelope, not a signature over a file')
    expect(failure(() => verifyBlob(DATA, new TextEncoder().encode('{"x":1}'), keyed(key.publicPem)))).toContain('is not a sigstore bundle')
  })
})

describe('keyless', () => {
  test('verifies by identity under the trusted root; another identity, root or a --key are refused', async () => {
    const bundle = await signBlobKeyless({data: DATA, identityToken: fakeIdentityToken({sub: SUBJECT, iss: ISSUER}), fulcioURL: mock.url, rekorURL: mock.url})
    expect(verifyBlob(DATA, bundle, {kind: 'identity', identity, trustedRoot: mock.trustedRoot})).toEqual({kind: 'identity', subject: SUBJECT, issuer: ISSUER})
    const other = {...identity, subject: {kind: 'exact' as const, value: `${SUBJECT}x`}}
    expect(failure(() => verifyBlob(DATA, bundle, {kind: 'identity', identity: other, trustedRoot: mock.trustedRoot}))).toContain('not the expected identity')
    expect(failure(() => verifyBlob(DATA, bundle, keyed(makeKeyPair().publicPem)))).toContain('signed keyless')
  })
})
