/**
 * From a definition's signature policy to the plan's record of it. Apply verifies again from the record alone
 * (apply/recorded-trust.ts), so the record carries public keys (PEM; not secrets) and pins a trusted root file by
 * its sha256: a root changed after review is refused rather than silently trusted. A key is recorded as the SPKI PEM
 * re-exported from the parsed key, so nothing else of a key file (a stray private key block) reaches the plan.
 */
import {sha256Digest} from '../ref/digest.ts'
import {canonicalPem, fingerprintOfKey, parsePublicKey, readTrustedRootFile} from '../signatures/trust.ts'
import type {Identity, SignaturePolicy} from '../signatures/types.ts'
import type {PolicyRecord} from './signature-record.ts'

export async function recordPolicy(policy: SignaturePolicy): Promise<PolicyRecord> {
  return {
    verify: policy.verify,
    keys: recordKeys(policy.keys),
    identities: recordIdentities(policy.identities),
    trustedRoot:
      policy.trustedRoot.kind === 'file'
        ? {kind: 'file', path: policy.trustedRoot.path, sha256: sha256Digest(await readTrustedRootFile(policy.trustedRoot.path))}
        : {kind: 'public-good'},
    copy: policy.copy,
    sign: policy.sign,
    ...(policy.provenance ? {provenance: true as const} : {}),
    attestations: policy.attestations.map(({predicateType, trust}) => ({
      predicateType,
      trust: trust.kind === 'entry' ? trust : {kind: 'own', keys: recordKeys(trust.keys), identities: recordIdentities(trust.identities)},
    })),
  }
}

/** Only the parsed key is recorded, re-exported as SPKI PEM: nothing else of a key file reaches the plan. */
const recordKeys = (keys: SignaturePolicy['keys']) =>
  keys.map((k) => {
    const key = parsePublicKey(k.pem, `key file ${k.path}`)
    return {fingerprint: fingerprintOfKey(key), pem: canonicalPem(key)}
  })
const recordIdentities = (identities: readonly Identity[]) => identities.map((i) => ({issuer: i.issuer, subject: i.subject}))
