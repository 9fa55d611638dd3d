/**
 * Keyless signing and verification end to end against a private sigstore (mock Fulcio, Rekor and TSA on
 * 127.0.0.1) through the product's own signing functions, and keyed signatures with a transparency log.
 */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {bundleFromJSON, bundleToJSON} from '@sigstore/bundle'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {DSSEBundleBuilder, RekorWitness} from '@sigstore/sign'
import {fakeIdentityToken} from '../../test/support/sigstore/fake-oidc.ts'
import {startMockSigstore, type MockSigstore} from '../../test/support/sigstore/mock-sigstore.ts'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import {keySigner} from './keys.ts'
import {COSIGN_ANNOTATIONS, certificatePem, rekorBundleFromTlogEntry} from './legacy.ts'
import {imageStatement, signBundleKeyless, signingKeyFromPem, signLegacyKeyless, simpleSigningPayload} from './sign.ts'
import {EMPTY_TRUSTED_ROOT} from './trust.ts'
import {type Candidate, type CandidateVerdict, COSIGN_SIGN_PREDICATE, type Identity} from './types.ts'
import {buildTrust, verifyCandidate, type Trust} from './verify.ts'

const DIGEST = `sha256:${'ab'.repeat(32)}`
const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main'
const ISSUER = 'https://token.actions.githubusercontent.com'
const TOKEN = fakeIdentityToken({sub: SUBJECT, iss: ISSUER})
const ME: Identity = {issuer: ISSUER, subject: {kind: 'exact', value: SUBJECT}}

let mock: MockSigstore
let rawMock: MockSigstore
beforeAll(async () => {
  mock = await startMockSigstore()
  rawMock = await startMockSigstore({rewriteDsse: false})
})
afterAll(() => {
  mock?.stop()
  rawMock?.stop()
})

const trustOf = (identities: Identity[], m = mock): Trust => buildTrust({keys: [], identities, trustedRoot: m.trustedRoot})
const urls = (m = mock) => ({identityToken: TOKEN, fulcioURL: m.url, rekorURL: m.url})
const bundleCandidate = (bundle: Uint8Array): Candidate => ({kind: 'bundle', bundle, source: 'test'})
const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
const verifiedAs = (subject: string, issuer = ISSUER): CandidateVerdict => ({
  kind: 'verified',
  signer: {kind: 'identity', subject, issuer},
  source: 'test',
  claim: {kind: 'signature'},
})

function expectFailed(verdict: CandidateVerdict, reason: RegExp): void {
  expect(verdict.kind).toBe('failed')
  if (verdict.kind === 'failed') expect(verdict.reason).toMatch(reason)
}

/** A legacy `.att` layer (envelope + annotations) made from a keyless DSSE bundle, as cosign ≥ 2.2.3 writes it. */
function attestationLayer(bundleBytes: Uint8Array, rekorBundle?: string): Candidate {
  const bundle = bundleFromJSON(json(bundleBytes))
  const material = bundle.verificationMaterial.content
  const der =
    material.$case === 'certificate'
      ? material.certificate.rawBytes
      : material.$case === 'x509CertificateChain'
        ? material.x509CertificateChain.certificates[0]!.rawBytes
        : undefined
  const serialized = bundleToJSON(bundle) as {dsseEnvelope: unknown}
  return {
    kind: 'dsse-envelope',
    envelope: new TextEncoder().encode(JSON.stringify(serialized.dsseEnvelope)),
    annotations: {
      [COSIGN_ANNOTATIONS.signature]: '',
      ...(der ? {[COSIGN_ANNOTATIONS.certificate]: certificatePem(der), [COSIGN_ANNOTATIONS.chain]: ''} : {}),
      [COSIGN_ANNOTATIONS.bundle]: rekorBundle ?? rekorBundleFromTlogEntry(bundle.verificationMaterial.tlogEntries[0]!)!,
    },
    source: 'test',
  }
}

/** A Rekor bundle annotation for an `intoto` 0.0.1 entry (cosign ≤ 2.2.2 attestations), signed by the mock log. */
async function intoto001Annotation(m: MockSigstore): Promise<string> {
  const logged = await m.tlog.log({
    apiVersion: '0.0.1',
    kind: 'intoto',
    spec: {content: {hash: {algorithm: 'sha256', value: '00'.repeat(32)}}, publicKey: 'AAAA'},
  })
  const entry = Object.values(logged)[0] as {
    body: string
    integratedTime: number
    logIndex: number
    logID: string
    verification: {signedEntryTimestamp: string}
  }
  return JSON.stringify({
    SignedEntryTimestamp: entry.verification.signedEntryTimestamp,
    Payload: {body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logID},
  })
}

describe('keyless bundles (cosign v3 format)', () => {
  test('the default is a v0.3 bundle with a certificate and a dsse entry, and it verifies', async () => {
    const bytes = await signBundleKeyless({digest: DIGEST, ...urls()})
    const bundle = json(bytes) as {mediaType: string; verificationMaterial: {certificate?: unknown; tlogEntries: Array<{kindVersion: unknown}>}}
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json')
    expect(bundle.verificationMaterial.certificate).toBeDefined()
    expect(bundle.verificationMaterial.tlogEntries[0]!.kindVersion).toEqual({kind: 'dsse', version: '0.0.1'})
    expect(verifyCandidate(bundleCandidate(bytes), DIGEST, trustOf([ME]))).toEqual(verifiedAs(SUBJECT))
  })

  test('legacyCompatibility gives a v0.2 bundle with an intoto 0.0.2 entry, which verifies too', async () => {
    const bytes = await signBundleKeyless({digest: DIGEST, ...urls(), legacyCompatibility: true})
    const bundle = json(bytes) as {mediaType: string; verificationMaterial: {tlogEntries: Array<{kindVersion: unknown}>}}
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle+json;version=0.2')
    expect(bundle.verificationMaterial.tlogEntries[0]!.kindVersion).toEqual({kind: 'intoto', version: '0.0.2'})
    expect(verifyCandidate(bundleCandidate(bytes), DIGEST, trustOf([ME]))).toEqual(verifiedAs(SUBJECT))
  })

  test('the unmodified mock Rekor stores dsse requests verbatim, which no verifier accepts (why the mock is patched)', async () => {
    const bytes = await signBundleKeyless({digest: DIGEST, ...urls(rawMock)})
    expectFailed(verifyCandidate(bundleCandidate(bytes), DIGEST, trustOf([ME], rawMock)), /signature count mismatch \(TLOG_BODY_ERROR\)/)
  })

  test('with a timestamp authority the bundle carries a verified RFC 3161 token', async () => {
    const bytes = await signBundleKeyless({digest: DIGEST, ...urls(), tsaURL: mock.url})
    const bundle = json(bytes) as {verificationMaterial: {timestampVerificationData: {rfc3161Timestamps: unknown[]}}}
    expect(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1)
    expect(verifyCandidate(bundleCandidate(bytes), DIGEST, trustOf([ME]))).toEqual(verifiedAs(SUBJECT))
  })

  test('a bundle for another digest is not bound to this image', async () => {
    const bytes = await signBundleKeyless({digest: `sha256:${'cd'.repeat(32)}`, ...urls()})
    expectFailed(verifyCandidate(bundleCandidate(bytes), DIGEST, trustOf([ME])), /subjects do not include/)
  })
})

describe('keyless identity policy', () => {
  let bytes: Uint8Array
  beforeAll(async () => {
    bytes = await signBundleKeyless({digest: DIGEST, ...urls()})
  })

  test('any trusted identity may satisfy; the signer is the certificate identity', () => {
    const other: Identity = {issuer: ISSUER, subject: {kind: 'exact', value: 'https://github.com/other/x'}}
    const prefix: Identity = {issuer: ISSUER, subject: {kind: 'regexp', pattern: 'https://github\\.com/acme/app/.*'}}
    expect(verifyCandidate(bundleCandidate(bytes), DIGEST, trustOf([other, prefix]))).toEqual(verifiedAs(SUBJECT))
  })

  test('a wrong subject fails', () => {
    const verdict = verifyCandidate(bundleCandidate(bytes), DIGEST, trustOf([{issuer: ISSUER, subject: {kind: 'exact', value: `${SUBJECT}x`}}]))
    expectFailed(verdict, /certificate identity ".*release\.yml@refs\/heads\/main" from issuer ".*" matches no trusted identity \(UNTRUSTED_SIGNER_ERROR\)/)
  })

  test('a wrong issuer fails', () => {
    expectFailed(
      verifyCandidate(bundleCandidate(bytes), DIGEST, trustOf([{issuer: 'https://accounts.google.com', subject: ME.subject}])),
      /UNTRUSTED_SIGNER_ERROR/,
    )
  })

  test('regular expressions are anchored: "acme" does not match "evil-acme", a prefix pattern does not match a longer URL', async () => {
    const evil = await signBundleKeyless({digest: DIGEST, ...urls(), identityToken: fakeIdentityToken({sub: 'evil-acme', iss: ISSUER})})
    expectFailed(
      verifyCandidate(bundleCandidate(evil), DIGEST, trustOf([{issuer: ISSUER, subject: {kind: 'regexp', pattern: 'acme'}}])),
      /"evil-acme".*UNTRUSTED_SIGNER_ERROR/,
    )
    const embedded = await signBundleKeyless({
      digest: DIGEST,
      ...urls(),
      identityToken: fakeIdentityToken({sub: `https://evil.example/?u=${SUBJECT}`, iss: ISSUER}),
    })
    expectFailed(
      verifyCandidate(bundleCandidate(embedded), DIGEST, trustOf([{issuer: ISSUER, subject: {kind: 'regexp', pattern: 'https://github\\.com/acme/app/.*'}}])),
      /UNTRUSTED_SIGNER_ERROR/,
    )
    expectFailed(verifyCandidate(bundleCandidate(embedded), DIGEST, trustOf([ME])), /UNTRUSTED_SIGNER_ERROR/)
  })

  test('a certificate from a CA outside the trusted root fails on the chain', async () => {
    const rogue = await signBundleKeyless({digest: DIGEST, ...urls(), fulcioURL: mock.rogueFulcioURL})
    expectFailed(verifyCandidate(bundleCandidate(rogue), DIGEST, trustOf([ME])), /keyless verification failed: .*\(CERTIFICATE_ERROR\)/)
  })

  test('a trusted root that does not know the log fails', () => {
    const otherLog = TrustedRoot.fromJSON({...mock.trustedRootJSON, tlogs: rawMock.trustedRootJSON['tlogs']})
    const trust = buildTrust({keys: [], identities: [ME], trustedRoot: otherLog})
    expectFailed(verifyCandidate(bundleCandidate(bytes), DIGEST, trust), /keyless verification failed: .*\(TLOG_INCLUSION_PROMISE_ERROR\)/)
  })

  test('a keyless signature fails a policy that trusts only keys', () => {
    const keysOnly = buildTrust({keys: [{pem: makeKeyPair().publicPem}], identities: [], trustedRoot: mock.trustedRoot})
    expectFailed(verifyCandidate(bundleCandidate(bytes), DIGEST, keysOnly), /policy trusts no identities/)
  })
})

describe('keyless legacy .sig and .att', () => {
  test('signLegacyKeyless writes cosign annotations that verify as a legacy layer', async () => {
    const payload = simpleSigningPayload('registry.example/app', DIGEST)
    const {annotations} = await signLegacyKeyless({payload, ...urls()})
    expect(Object.keys(annotations).sort()).toEqual(
      [COSIGN_ANNOTATIONS.signature, COSIGN_ANNOTATIONS.bundle, COSIGN_ANNOTATIONS.certificate, COSIGN_ANNOTATIONS.chain].sort(),
    )
    expect(annotations[COSIGN_ANNOTATIONS.certificate]).toStartWith('-----BEGIN CERTIFICATE-----\n')
    const rekor = JSON.parse(annotations[COSIGN_ANNOTATIONS.bundle]!) as {Payload: Record<string, unknown>}
    expect(Object.keys(rekor)).toEqual(['SignedEntryTimestamp', 'Payload'])
    expect(Object.keys(rekor.Payload)).toEqual(['body', 'integratedTime', 'logIndex', 'logID'])
    expect(JSON.parse(Buffer.from(rekor.Payload['body'] as string, 'base64').toString()).kind).toBe('hashedrekord')
    const candidate: Candidate = {kind: 'simple-signing', payload, annotations, source: 'test'}
    expect(verifyCandidate(candidate, DIGEST, trustOf([ME]))).toEqual(verifiedAs(SUBJECT))
    expectFailed(verifyCandidate(candidate, `sha256:${'cd'.repeat(32)}`, trustOf([ME])), /signature is for image/)
    expectFailed(
      verifyCandidate({...candidate, payload: simpleSigningPayload('registry.example/app', `sha256:${'cd'.repeat(32)}`)}, DIGEST, trustOf([ME])),
      /keyless verification failed/,
    )
  })

  test('with a TSA the rfc3161timestamp annotation is written and verified', async () => {
    const payload = simpleSigningPayload('registry.example/app', DIGEST)
    const {annotations} = await signLegacyKeyless({payload, ...urls(), tsaURL: mock.url})
    expect(JSON.parse(annotations[COSIGN_ANNOTATIONS.timestamp]!)).toHaveProperty('SignedRFC3161Timestamp')
    expect(verifyCandidate({kind: 'simple-signing', payload, annotations, source: 'test'}, DIGEST, trustOf([ME]))).toEqual(verifiedAs(SUBJECT))
  })

  test('a keyless legacy .att with a dsse entry verifies; with an intoto 0.0.1 entry it cannot', async () => {
    const bytes = await signBundleKeyless({digest: DIGEST, ...urls()})
    // A legacy .att is an attestation even with cosign's signing predicate: cosign verify reads only .sig and bundles.
    expect(verifyCandidate(attestationLayer(bytes), DIGEST, trustOf([ME]))).toEqual({
      ...verifiedAs(SUBJECT),
      claim: {kind: 'attestation', predicateType: COSIGN_SIGN_PREDICATE},
    })
    const old = attestationLayer(bytes, await intoto001Annotation(mock))
    expectFailed(verifyCandidate(old, DIGEST, trustOf([ME])), /entry is of kind intoto 0\.0\.1 .* cannot be verified/)
  })
})

describe('keyed signatures with a transparency log', () => {
  const pair = makeKeyPair()
  const key = signingKeyFromPem(pair.privatePem)
  const keyTrust = (root = mock.trustedRoot) => buildTrust({keys: [{pem: pair.publicPem}], identities: [], trustedRoot: root})

  async function loggedBundle(): Promise<Record<string, unknown>> {
    const builder = new DSSEBundleBuilder({signer: keySigner(key), witnesses: [new RekorWitness({rekorBaseURL: mock.url, entryType: 'dsse', retry: 0})]})
    const bundle = await builder.create({data: Buffer.from(imageStatement(DIGEST)), type: 'application/vnd.in-toto+json'})
    return bundleToJSON(bundle) as unknown as Record<string, unknown>
  }
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

  test('an entry from a log the trusted root knows is verified; tampered, it fails', async () => {
    const bundle = await loggedBundle()
    const verdict = verifyCandidate(bundleCandidate(encode(bundle)), DIGEST, keyTrust())
    expect(verdict).toEqual({kind: 'verified', signer: {kind: 'key', fingerprint: key.fingerprint}, source: 'test', claim: {kind: 'signature'}})
    const entries = (bundle['verificationMaterial'] as {tlogEntries: Array<{integratedTime: string}>}).tlogEntries
    entries[0]!.integratedTime = String(Number(entries[0]!.integratedTime) + 1)
    expectFailed(
      verifyCandidate(bundleCandidate(encode(bundle)), DIGEST, keyTrust()),
      /no trusted key verifies the signature: inclusion promise could not be verified \(TLOG_INCLUSION_PROMISE_ERROR\)/,
    )
  })

  test('entries from logs the trusted root does not know are ignored: the key alone is trusted', async () => {
    const bundle = await loggedBundle()
    const verdict = verifyCandidate(bundleCandidate(encode(bundle)), DIGEST, keyTrust(EMPTY_TRUSTED_ROOT))
    expect(verdict).toEqual({kind: 'verified', signer: {kind: 'key', fingerprint: key.fingerprint}, source: 'test', claim: {kind: 'signature'}})
  })

  test('a keyed legacy .att logged as intoto 0.0.1 verifies without the log', async () => {
    const builder = new DSSEBundleBuilder({signer: keySigner(key), witnesses: []})
    const bundle = await builder.create({data: Buffer.from(imageStatement(DIGEST)), type: 'application/vnd.in-toto+json'})
    const layer = attestationLayer(encode(bundleToJSON(bundle)), await intoto001Annotation(mock))
    expect(verifyCandidate(layer, DIGEST, keyTrust())).toEqual({
      kind: 'verified',
      signer: {kind: 'key', fingerprint: key.fingerprint},
      source: 'test',
      claim: {kind: 'attestation', predicateType: COSIGN_SIGN_PREDICATE},
    })
  })
})
