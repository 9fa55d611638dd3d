import {describe, expect, test} from 'bun:test'
import {attestationEnvelope, COSIGN_ATTESTATION, COSIGN_SIGN, SLSA_V1, statementBundle} from '../../test/support/sigstore/statements.ts'
import {makeKeyPair, type KeyKind, type TestKeyPair} from '../../test/support/sigstore/test-keys.ts'
import {COSIGN_ANNOTATIONS} from './legacy.ts'
import {signBundleWithKey, signLegacyWithKey, signingKeyFromPem, simpleSigningPayload} from './sign.ts'
import {EMPTY_TRUSTED_ROOT, type SignatureError, keyFingerprint} from './trust.ts'
import type {Candidate, CandidateVerdict} from './types.ts'
import {UNBOUND_MESSAGE_SIGNATURE, buildTrust, identityPolicy, verifyCandidate, type Trust} from './verify.ts'

const DIGEST = `sha256:${'ab'.repeat(32)}`
const OTHER = `sha256:${'cd'.repeat(32)}`
const REF = 'registry.example/app'

const trustFor = (...keys: TestKeyPair[]): Trust => buildTrust({keys: keys.map((k) => ({pem: k.publicPem})), identities: [], trustedRoot: EMPTY_TRUSTED_ROOT})

function expectVerified(verdict: CandidateVerdict, key: TestKeyPair): void {
  expect(verdict).toMatchObject({kind: 'verified', signer: {kind: 'key', fingerprint: keyFingerprint(key.publicPem)}, source: 'test'})
}

function expectFailed(verdict: CandidateVerdict, reason: RegExp): void {
  expect(verdict.kind).toBe('failed')
  if (verdict.kind === 'failed') expect(verdict.reason).toMatch(reason)
}

/** One byte flipped at `index` (negative counts from the end). */
function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  const at = index < 0 ? copy.length + index : index
  copy[at] = copy[at]! ^ 0x01
  return copy
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))

/** Candidates of each form, all signed with our own signing functions. */
async function signedForms(key: TestKeyPair, digest = DIGEST) {
  const signing = signingKeyFromPem(key.privatePem)
  const legacy = signLegacyWithKey(signing, simpleSigningPayload(REF, digest))
  const bundle = await signBundleWithKey(signing, digest)
  // A legacy `.att` layer is the bundle's DSSE envelope on its own, with an empty signature annotation.
  const envelope = bytes((JSON.parse(text(bundle)) as {dsseEnvelope: unknown}).dsseEnvelope)
  return {
    sig: {kind: 'simple-signing', payload: legacy.payload, annotations: legacy.annotations, source: 'test'} satisfies Candidate,
    att: {kind: 'dsse-envelope', envelope, annotations: {[COSIGN_ANNOTATIONS.signature]: ''}, source: 'test'} satisfies Candidate,
    bundle: {kind: 'bundle', bundle, source: 'test'} satisfies Candidate,
  }
}

describe.each(['p256', 'rsa', 'ed25519'] as KeyKind[])('keyed signatures (%s)', (kind) => {
  const key = makeKeyPair(kind)
  const stranger = makeKeyPair(kind)

  test('legacy .sig, legacy .att and a v0.3 bundle made by our signing functions verify', async () => {
    const forms = await signedForms(key)
    for (const candidate of Object.values(forms)) expectVerified(verifyCandidate(candidate, DIGEST, trustFor(key)), key)
  })

  test('any configured key may satisfy', async () => {
    const forms = await signedForms(key)
    for (const candidate of Object.values(forms)) expectVerified(verifyCandidate(candidate, DIGEST, trustFor(stranger, key)), key)
  })

  test('a wrong key fails every form', async () => {
    const forms = await signedForms(key)
    for (const candidate of Object.values(forms))
      expectFailed(verifyCandidate(candidate, DIGEST, trustFor(stranger)), /no trusted key verifies the signature.*\(SIGNATURE_ERROR\)/)
  })

  test('a byte of the payload tampered fails', async () => {
    const {sig, bundle} = await signedForms(key)
    expectFailed(verifyCandidate({...sig, payload: flip(sig.payload, 20)}, DIGEST, trustFor(key)), /SIGNATURE_ERROR/)
    // In the bundle, change one hex digit inside the statement (still valid JSON and base64).
    const json = JSON.parse(text(bundle.bundle)) as {dsseEnvelope: {payload: string}}
    const statement = Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8').replace('abab', 'abac')
    json.dsseEnvelope.payload = Buffer.from(statement).toString('base64')
    expectFailed(verifyCandidate({...bundle, bundle: bytes(json)}, DIGEST, trustFor(key)), /SIGNATURE_ERROR/)
  })

  test('a byte of the signature tampered fails', async () => {
    const {sig, att} = await signedForms(key)
    const raw = Buffer.from(sig.annotations[COSIGN_ANNOTATIONS.signature]!, 'base64')
    const tampered = Buffer.from(flip(raw, -1)).toString('base64')
    expectFailed(verifyCandidate({...sig, annotations: {[COSIGN_ANNOTATIONS.signature]: tampered}}, DIGEST, trustFor(key)), /SIGNATURE_ERROR/)
    const envelope = JSON.parse(text(att.envelope)) as {signatures: Array<{sig: string}>}
    envelope.signatures[0]!.sig = Buffer.from(flip(Buffer.from(envelope.signatures[0]!.sig, 'base64'), -1)).toString('base64')
    expectFailed(verifyCandidate({...att, envelope: bytes(envelope)}, DIGEST, trustFor(key)), /SIGNATURE_ERROR/)
  })

  test('a valid signature for another digest is not bound to this image', async () => {
    const forms = await signedForms(key, OTHER)
    expectFailed(verifyCandidate(forms.sig, DIGEST, trustFor(key)), /signature is for image "sha256:cdcd.*", not sha256:abab/)
    expectFailed(verifyCandidate(forms.att, DIGEST, trustFor(key)), /subjects do not include sha256:abab/)
    expectFailed(verifyCandidate(forms.bundle, DIGEST, trustFor(key)), /subjects do not include sha256:abab/)
  })
})

describe('binding and malformed input', () => {
  const key = makeKeyPair()
  const signing = signingKeyFromPem(key.privatePem)
  const signed = (payload: Uint8Array): Candidate => ({kind: 'simple-signing', ...signLegacyWithKey(signing, payload), source: 'test'})

  test('a simple-signing payload must be a cosign container image signature', () => {
    const payload = bytes({critical: {identity: {}, image: {'docker-manifest-digest': DIGEST}, type: 'atomic container signature'}, optional: null})
    expectFailed(verifyCandidate(signed(payload), DIGEST, trustFor(key)), /critical.type is "atomic container signature"/)
  })

  test('a signed payload that is not JSON fails, it does not throw', () => {
    expectFailed(verifyCandidate(signed(bytes('not json')), DIGEST, trustFor(key)), /not a JSON object/)
  })

  test('garbage candidates are failed verdicts with a reason', () => {
    const trust = trustFor(key)
    const cases: Array<[Candidate, RegExp]> = [
      [{kind: 'bundle', bundle: bytes('{nope'), source: 'test'}, /not valid JSON/],
      [{kind: 'bundle', bundle: bytes({mediaType: 'x'}), source: 'test'}, /invalid bundle \(fields: /],
      [{kind: 'dsse-envelope', envelope: bytes('[]'), annotations: {}, source: 'test'}, /not a DSSE envelope.*LEGACY_FORMAT_INVALID/],
      [{kind: 'dsse-envelope', envelope: bytes({payloadType: 'x', payload: '', signatures: []}), annotations: {}, source: 'test'}, /no signatures/],
      [{kind: 'simple-signing', payload: bytes('{}'), annotations: {}, source: 'test'}, /no dev.cosignproject.cosign\/signature annotation/],
      [
        {
          kind: 'simple-signing',
          payload: bytes('{}'),
          annotations: {[COSIGN_ANNOTATIONS.signature]: 'AAAA', [COSIGN_ANNOTATIONS.bundle]: '{"x":1}'},
          source: 'test',
        },
        /not a Rekor bundle/,
      ],
      [
        {
          kind: 'simple-signing',
          payload: bytes('{}'),
          annotations: {[COSIGN_ANNOTATIONS.signature]: 'AAAA', [COSIGN_ANNOTATIONS.certificate]: 'nope'},
          source: 'test',
        },
        /not a PEM certificate/,
      ],
      [
        {
          kind: 'simple-signing',
          payload: bytes('{}'),
          annotations: {
            [COSIGN_ANNOTATIONS.signature]: 'AAAA',
            [COSIGN_ANNOTATIONS.certificate]: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
          },
          source: 'test',
        },
        /policy trusts no identities/,
      ],
    ]
    for (const [candidate, reason] of cases) expectFailed(verifyCandidate(candidate, DIGEST, trust), reason)
    // A certificate that does not parse is only looked at when identities are trusted.
    const keyless = buildTrust({keys: [], identities: [{issuer: 'https://issuer', subject: {kind: 'exact', value: 'me'}}], trustedRoot: EMPTY_TRUSTED_ROOT})
    expectFailed(verifyCandidate(cases.at(-1)![0], DIGEST, keyless), /could not be checked/)
  })

  test('a DSSE payload that is not in-toto is not bound', async () => {
    const {att} = await signedForms(key)
    const envelope = JSON.parse(text(att.envelope)) as {payloadType: string}
    // Changing the payload type breaks the signature first (it is part of the PAE).
    envelope.payloadType = 'application/json'
    expectFailed(verifyCandidate({...att, envelope: bytes(envelope)}, DIGEST, trustFor(key)), /SIGNATURE_ERROR/)
  })

  test('a message-signature bundle cannot be bound to the image', () => {
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {publicKey: {hint: 'x'}, tlogEntries: [], timestampVerificationData: {rfc3161Timestamps: []}},
      messageSignature: {messageDigest: {algorithm: 'SHA2_256', digest: Buffer.alloc(32).toString('base64')}, signature: 'AAAA'},
    }
    expect(verifyCandidate({kind: 'bundle', bundle: bytes(bundle), source: 'ref'}, DIGEST, trustFor(key))).toEqual({
      kind: 'failed',
      reason: UNBOUND_MESSAGE_SIGNATURE,
      source: 'ref',
      claim: {kind: 'signature'},
    })
  })

  test('a keyed signature fails when the policy trusts only identities, and an invalid digest fails', async () => {
    const {sig} = await signedForms(key)
    const identitiesOnly = buildTrust({
      keys: [],
      identities: [{issuer: 'https://issuer', subject: {kind: 'exact', value: 'me'}}],
      trustedRoot: EMPTY_TRUSTED_ROOT,
    })
    expectFailed(verifyCandidate(sig, DIGEST, identitiesOnly), /policy trusts no keys/)
    expectFailed(verifyCandidate(sig, 'sha256:nope', trustFor(key)), /is not an image digest/)
  })
})

describe('trust', () => {
  test('identity subjects are always anchored', () => {
    const exact = identityPolicy({issuer: 'i', subject: {kind: 'exact', value: 'https://github.com/acme/app/.github/workflows/r.yml@refs/heads/main'}})
    expect((exact.subjectAlternativeName as RegExp).source).toBe(
      '^(?:https:\\/\\/github\\.com\\/acme\\/app\\/\\.github\\/workflows\\/r\\.yml@refs\\/heads\\/main)$',
    )
    expect(exact.extensions).toEqual({issuer: 'i'})
    const re = identityPolicy({issuer: 'i', subject: {kind: 'regexp', pattern: 'acme'}}).subjectAlternativeName as RegExp
    expect(re.test('acme')).toBe(true)
    expect(re.test('evil-acme')).toBe(false)
    // "Looks anchored" is not anchored: ^a|b$ would match "xb" unwrapped.
    const alt = identityPolicy({issuer: 'i', subject: {kind: 'regexp', pattern: '^a|b$'}}).subjectAlternativeName as RegExp
    expect(alt.test('xb')).toBe(false)
  })

  test('buildTrust rejects keys that are not public keys and patterns that do not compile', () => {
    const key = makeKeyPair()
    const attempt = (trust: Trust) => {
      try {
        buildTrust(trust)
        return null
      } catch (error) {
        return error as SignatureError
      }
    }
    const privateKey = attempt({keys: [{pem: key.privatePem, path: 'cosign.key'}], identities: [], trustedRoot: EMPTY_TRUSTED_ROOT})
    expect(privateKey?.code).toBe('PUBLIC_KEY_INVALID')
    expect(privateKey?.message).toBe('public key cosign.key is a PEM "PRIVATE KEY", not a public key; give the "PUBLIC KEY" file (e.g. cosign.pub)')
    const pattern = attempt({keys: [], identities: [{issuer: 'i', subject: {kind: 'regexp', pattern: '(['}}], trustedRoot: EMPTY_TRUSTED_ROOT})
    expect(pattern?.code).toBe('IDENTITY_INVALID')
    expect(attempt({keys: [], identities: [{issuer: '', subject: {kind: 'exact', value: 'x'}}], trustedRoot: EMPTY_TRUSTED_ROOT})?.code).toBe(
      'IDENTITY_INVALID',
    )
  })
})

describe('signature or attestation: what the signed statement says, as cosign verify reads it', () => {
  const key = makeKeyPair()
  const bundle = async (predicateType: string): Promise<Candidate> => ({
    kind: 'bundle',
    bundle: await statementBundle(key, DIGEST, predicateType),
    source: 'test',
  })
  const att = async (predicateType: string): Promise<Candidate> => ({
    kind: 'dsse-envelope',
    envelope: await attestationEnvelope(key, DIGEST, predicateType),
    annotations: {[COSIGN_ANNOTATIONS.signature]: ''},
    source: 'test',
  })

  test('a bundle with cosign sign/v1 is a signature; any other predicate is an attestation of that type', async () => {
    expect(verifyCandidate(await bundle(COSIGN_SIGN), DIGEST, trustFor(key))).toMatchObject({kind: 'verified', claim: {kind: 'signature'}})
    for (const type of [COSIGN_ATTESTATION, SLSA_V1, 'https://spdx.dev/Document']) {
      expect(verifyCandidate(await bundle(type), DIGEST, trustFor(key))).toMatchObject({kind: 'verified', claim: {kind: 'attestation', predicateType: type}})
    }
  })

  test('a legacy .att is an attestation, even with the signing predicate; a .sig is a signature', async () => {
    expect(verifyCandidate(await att(SLSA_V1), DIGEST, trustFor(key))).toMatchObject({kind: 'verified', claim: {kind: 'attestation', predicateType: SLSA_V1}})
    expect(verifyCandidate(await att(COSIGN_SIGN), DIGEST, trustFor(key))).toMatchObject({
      kind: 'verified',
      claim: {kind: 'attestation', predicateType: COSIGN_SIGN},
    })
    const {sig} = await signedForms(key)
    expect(verifyCandidate(sig, DIGEST, trustFor(key))).toMatchObject({kind: 'verified', claim: {kind: 'signature'}})
  })

  test('the claim comes from the signed payload: a statement rewritten to claim sign/v1 no longer verifies', async () => {
    const json = JSON.parse(text(await statementBundle(key, DIGEST, SLSA_V1))) as {dsseEnvelope: {payload: string}}
    json.dsseEnvelope.payload = Buffer.from(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8').replace(SLSA_V1, COSIGN_SIGN)).toString('base64')
    const verdict = verifyCandidate({kind: 'bundle', bundle: bytes(json), source: 'test'}, DIGEST, trustFor(key))
    expect(verdict).toMatchObject({kind: 'failed', claim: {kind: 'signature'}})
  })

  test('unreadable candidates fail closed: a broken bundle claims to be a signature, a broken .att an attestation', () => {
    expect(verifyCandidate({kind: 'bundle', bundle: bytes('{nope'), source: 'test'}, DIGEST, trustFor(key))).toMatchObject({
      kind: 'failed',
      claim: {kind: 'signature'},
    })
    expect(verifyCandidate({kind: 'dsse-envelope', envelope: bytes('[]'), annotations: {}, source: 'test'}, DIGEST, trustFor(key))).toMatchObject({
      kind: 'failed',
      claim: {kind: 'attestation', predicateType: ''},
    })
  })
})
