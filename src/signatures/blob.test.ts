/** Signing and verifying files (sign-blob/verify-blob bundles) with keys and keyless identities. */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {createHash, generateKeyPairSync} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {fakeIdentityToken} from '../../test/support/sigstore/fake-oidc.ts'
import {startMockSigstore, type MockSigstore} from '../../test/support/sigstore/mock-sigstore.ts'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import {signBlobKeyless, signBlobWithKey} from './blob.ts'
import {type BlobRequirements, type BlobTrust, BlobVerificationError, parseBlobBundle, verifyBlob, verifyBlobInput} from './blob-verify.ts'
import {signBundleWithKey, signingKeyFromPem} from './sign.ts'
import {loadTrustedRoot} from './trust.ts'
import {COSIGN_SIGN_PREDICATE} from './types.ts'

const DATA = new TextEncoder().encode('abc  image-syncer-0.1.0-linux-x64\n')
const ISSUER = 'https://token.actions.githubusercontent.com'
const SUBJECT = 'https://github.com/acme/image-syncer/.github/workflows/release.yml@refs/tags/v1'
const identity = {issuer: ISSUER, subject: {kind: 'exact' as const, value: SUBJECT}}

/** sigstore-conformance's cases (test/fixtures/sigstore-conformance/README.md). */
const CONFORMANCE = join(import.meta.dir, '../../test/fixtures/sigstore-conformance/bundle-verify')
const conformance = (name: string, file: string) => readFileSync(join(CONFORMANCE, name, file))
const A_TXT = readFileSync(join(CONFORMANCE, 'a.txt'))
/** The identity sigstore-conformance's public-good bundles were signed by. */
const BEACON =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main'

let mock: MockSigstore
let publicGood: TrustedRoot
const keyed = (pem: string, trustedRoot = publicGood): BlobTrust => ({kind: 'key', pem, trustedRoot})
beforeAll(async () => {
  mock = await startMockSigstore()
  publicGood = await loadTrustedRoot({kind: 'public-good'})
})
afterAll(() => mock?.stop())

/** verify-blob over a file's bytes, as their sha256 digest (how the command sees a file). */
const check = (data: Uint8Array, bundle: Uint8Array, trust: BlobTrust, required?: BlobRequirements) =>
  verifyBlob({algorithm: 'sha256', digest: createHash('sha256').update(data).digest()}, parseBlobBundle(bundle), trust, required)

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
    expect(check(DATA, bundle, keyed(key.publicPem))).toEqual({signer: {kind: 'key', fingerprint: signing.fingerprint}, statement: null})
    expect(failure(() => check(new TextEncoder().encode('other'), bundle, keyed(key.publicPem)))).toContain('the bundle is for another file')
    expect(failure(() => check(DATA, bundle, keyed(makeKeyPair().publicPem)))).toContain('the signature does not verify')
  })

  test('a cosign sign-blob --key bundle with a Rekor entry verifies under the trusted root in force (public-good, or a given one)', async () => {
    const pem = conformance('managed-key-happy-path', 'key.pub').toString('utf8')
    expect(check(A_TXT, conformance('managed-key-happy-path', 'bundle.sigstore.json'), keyed(pem)).signer.kind).toBe('key')
    const given = await loadTrustedRoot({kind: 'file', path: join(CONFORMANCE, 'managed-key-and-trusted-root', 'trusted_root.json')})
    const pem2 = conformance('managed-key-and-trusted-root', 'key.pub').toString('utf8')
    expect(check(A_TXT, conformance('managed-key-and-trusted-root', 'bundle.sigstore.json'), keyed(pem2, given)).signer.kind).toBe('key')
  })

  test("a keyed bundle's log entry is checked, not ignored: a log the root does not know, or a forged entry time, fails", () => {
    const pem = conformance('managed-key-happy-path', 'key.pub').toString('utf8')
    const bundle = conformance('managed-key-happy-path', 'bundle.sigstore.json')
    expect(failure(() => check(A_TXT, bundle, keyed(pem, mock.trustedRoot)))).toContain('the signature does not verify')
    const json = JSON.parse(bundle.toString('utf8'))
    json.verificationMaterial.tlogEntries[0].integratedTime = String(Number(json.verificationMaterial.tlogEntries[0].integratedTime) + 1)
    expect(failure(() => check(A_TXT, new TextEncoder().encode(JSON.stringify(json)), keyed(pem)))).toContain('TLOG')
  })

  test('a DSSE bundle verifies when its in-toto statement names the file; the statement is returned; another file is refused', async () => {
    const dsse = await signBundleWithKey(signing, `sha256:${createHash('sha256').update(DATA).digest('hex')}`)
    const verified = check(DATA, dsse, keyed(key.publicPem))
    expect(verified.signer).toEqual({kind: 'key', fingerprint: signing.fingerprint})
    expect(verified.statement?.['predicateType']).toBe(COSIGN_SIGN_PREDICATE)
    expect(failure(() => check(new TextEncoder().encode('other'), dsse, keyed(key.publicPem)))).toContain('the attestation is not about this file')
    expect(failure(() => check(DATA, dsse, keyed(makeKeyPair().publicPem)))).toContain('the signature does not verify')
  })

  test('--predicate-type selects what must be attested: another predicate, or a plain signature, does not satisfy it', async () => {
    const dsse = await signBundleWithKey(signing, `sha256:${createHash('sha256').update(DATA).digest('hex')}`)
    expect(check(DATA, dsse, keyed(key.publicPem), {predicateType: COSIGN_SIGN_PREDICATE}).statement).not.toBeNull()
    expect(failure(() => check(DATA, dsse, keyed(key.publicPem), {predicateType: 'https://slsa.dev/provenance/v1'}))).toContain('predicate type is')
    const plain = await signBlobWithKey(signing, DATA)
    expect(failure(() => check(DATA, plain, keyed(key.publicPem), {predicateType: COSIGN_SIGN_PREDICATE}))).toContain('not an attestation of')
  })

  test('a file is verified by streaming its digest, or by its sha256 alone; another digest or algorithm fails', async () => {
    const bundle = await signBlobWithKey(signing, DATA)
    const path = join(await mkdtemp(join(tmpdir(), 'image-syncer-blob-')), 'SHA256SUMS')
    await writeFile(path, DATA)
    const sha256 = createHash('sha256').update(DATA).digest()
    expect((await verifyBlobInput({kind: 'file', path, maxBytes: 1024}, bundle, keyed(key.publicPem))).signer.kind).toBe('key')
    expect((await verifyBlobInput({kind: 'digest', algorithm: 'sha256', digest: sha256}, bundle, keyed(key.publicPem))).signer.kind).toBe('key')
    const other = createHash('sha256').update('other').digest()
    expect(await verifyBlobInput({kind: 'digest', algorithm: 'sha256', digest: other}, bundle, keyed(key.publicPem)).catch((e: Error) => e.message)).toContain(
      'for another file',
    )
    const sha512 = createHash('sha512').update(DATA).digest()
    expect(await verifyBlobInput({kind: 'digest', algorithm: 'sha512', digest: sha512}, bundle, keyed(key.publicPem)).catch((e: Error) => e.message)).toContain(
      "signs the file's sha256 digest",
    )
  })

  test('an Ed25519 message signature covers the whole file, which a digest cannot stand for: refused in one sentence', async () => {
    const ed = generateKeyPairSync('ed25519')
    const edSigning = signingKeyFromPem(ed.privateKey.export({format: 'pem', type: 'pkcs8'}).toString())
    const bundle = await signBlobWithKey(edSigning, DATA)
    const pem = ed.publicKey.export({format: 'pem', type: 'spki'}).toString()
    expect(failure(() => check(DATA, bundle, keyed(pem)))).toContain('cannot be checked from a digest')
  })

  test('a non-bundle is refused in one sentence', () => {
    expect(failure(() => check(DATA, new TextEncoder().encode('{"x":1}'), keyed(key.publicPem)))).toContain('is not a sigstore bundle')
  })
})

describe('keyless', () => {
  test('verifies by identity under the trusted root; another identity, root or a --key are refused', async () => {
    const bundle = await signBlobKeyless({data: DATA, identityToken: fakeIdentityToken({sub: SUBJECT, iss: ISSUER}), fulcioURL: mock.url, rekorURL: mock.url})
    expect(check(DATA, bundle, {kind: 'identity', identity, trustedRoot: mock.trustedRoot})).toEqual({
      signer: {kind: 'identity', subject: SUBJECT, issuer: ISSUER},
      statement: null,
    })
    const other = {...identity, subject: {kind: 'exact' as const, value: `${SUBJECT}x`}}
    expect(failure(() => check(DATA, bundle, {kind: 'identity', identity: other, trustedRoot: mock.trustedRoot}))).toContain('not the expected identity')
    expect(failure(() => check(DATA, bundle, keyed(makeKeyPair().publicPem)))).toContain('signed keyless')
  })

  test('a public-good in-toto attestation (DSSE) verifies by identity and yields its statement', () => {
    const beacon = {issuer: ISSUER, subject: {kind: 'exact' as const, value: BEACON}}
    const verified = check(A_TXT, conformance('happy-path-intoto-in-dsse-v3', 'bundle.sigstore.json'), {
      kind: 'identity',
      identity: beacon,
      trustedRoot: publicGood,
    })
    expect(verified.signer).toEqual({kind: 'identity', subject: BEACON, issuer: ISSUER})
    expect(verified.statement?.['_type']).toBe('https://in-toto.io/Statement/v1')
  })
})
