import {describe, expect, test} from 'bun:test'
import {decideAttestation, decideSignatures, withAttestations} from './decide.ts'
import type {CandidateVerdict, SignaturePolicy, SignatureStatus} from './types.ts'

const KEY = {path: '/k.pub', pem: 'PEM'}
const policy = (verify: SignaturePolicy['verify'], withTrust = true) => ({verify, keys: withTrust ? [KEY] : [], identities: []})
const ok: CandidateVerdict = {kind: 'verified', signer: {kind: 'key', fingerprint: 'sha256:aa'}, source: 'tag sha256-x.sig layer 0', claim: {kind: 'signature'}}
const bad: CandidateVerdict = {kind: 'failed', reason: 'signature does not verify', source: 'referrer sha256:bb', claim: {kind: 'signature'}}

describe('decideSignatures', () => {
  const cases: Array<[string, ReturnType<typeof policy>, CandidateVerdict[], SignatureStatus]> = [
    ['skip never checks', policy('skip'), [bad], 'skipped'],
    ['required with nothing found fails', policy('required'), [], 'failed'],
    ['if-present with nothing found is unsigned', policy('if-present'), [], 'unsigned'],
    ['one verified among failures verifies', policy('if-present'), [bad, ok], 'verified'],
    ['if-present with only failures is refused (tampering, not absence)', policy('if-present'), [bad], 'failed'],
    ['required with only failures fails', policy('required'), [bad, bad], 'failed'],
    ['signatures found but nothing to verify them against fails', policy('if-present', false), [ok], 'failed'],
  ]
  for (const [name, p, verdicts, want] of cases) {
    test(name, () => {
      expect(decideSignatures(p, verdicts).status).toBe(want)
    })
  }

  test('signers are listed once; reasons name where each failure was found', () => {
    const decision = decideSignatures(policy('required'), [ok, ok])
    expect(decision.signers).toEqual([{kind: 'key', fingerprint: 'sha256:aa'}])
    expect(decideSignatures(policy('required'), [bad]).reasons).toEqual(['referrer sha256:bb: signature does not verify'])
    expect(decideSignatures(policy('if-present', false), [ok]).reasons[0]).toContain('no keys or identities are configured')
  })
})

describe('attestations are not signatures', () => {
  const SLSA = 'https://slsa.dev/provenance/v1'
  const attested: CandidateVerdict = {...ok, source: 'referrer sha256:cc', claim: {kind: 'attestation', predicateType: SLSA}}
  const badAttestation: CandidateVerdict = {...bad, claim: {kind: 'attestation', predicateType: SLSA}}

  test('a verified attestation alone does not satisfy verify: required, and says why', () => {
    const decision = decideSignatures(policy('required'), [attested])
    expect(decision).toMatchObject({status: 'failed', found: 0, signers: []})
    expect(decision.reasons).toEqual(['verify is required but no signature was found (1 attestation was found, but an attestation is not a signature)'])
  })

  test('under if-present an image with only attestations is unsigned, even when they fail', () => {
    expect(decideSignatures(policy('if-present'), [attested, badAttestation]).status).toBe('unsigned')
    expect(decideSignatures(policy('if-present', false), [attested]).status).toBe('unsigned')
  })

  test('a required attestation is verified, missing or failed', () => {
    expect(decideAttestation(SLSA, [ok, attested])).toEqual({
      predicateType: SLSA,
      status: 'verified',
      signers: [{kind: 'key', fingerprint: 'sha256:aa'}],
      reasons: [],
    })
    // A signature, or an attestation of another type, is not the attestation asked for.
    expect(decideAttestation(SLSA, [ok, {...attested, claim: {kind: 'attestation', predicateType: 'https://spdx.dev/Document'}}])).toEqual({
      predicateType: SLSA,
      status: 'missing',
      signers: [],
      reasons: [`required attestation ${SLSA} was not found`],
    })
    expect(decideAttestation(SLSA, [badAttestation])).toEqual({
      predicateType: SLSA,
      status: 'failed',
      signers: [],
      reasons: [`required attestation ${SLSA}: referrer sha256:bb: signature does not verify`],
    })
  })

  test('an unmet attestation fails the entry but keeps who signed it; met ones change nothing', () => {
    const signed = decideSignatures(policy('required'), [ok, attested])
    expect(withAttestations(signed, [decideAttestation(SLSA, [attested])])).toMatchObject({status: 'verified', attestations: [{status: 'verified'}]})
    const unmet = withAttestations(signed, [decideAttestation(SLSA, [])])
    expect(unmet).toMatchObject({status: 'failed', signers: [{kind: 'key', fingerprint: 'sha256:aa'}], reasons: [`required attestation ${SLSA} was not found`]})
    expect(withAttestations(decideSignatures(policy('if-present'), []), [decideAttestation(SLSA, [badAttestation])]).status).toBe('failed')
  })
})
