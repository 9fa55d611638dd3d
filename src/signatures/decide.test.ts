import {describe, expect, test} from 'bun:test'
import {decideSignatures} from './decide.ts'
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
