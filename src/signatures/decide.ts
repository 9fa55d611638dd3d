/**
 * The signature verdict for one entry under its policy, from what was found and how each candidate fared.
 * Pure, so plan and apply decide alike and the rules are tested without a registry:
 * - only signatures count as signatures (cosign's rule, see `Claim`): an attestation never satisfies `verify`;
 * - skip: no check.
 * - no signature found: `required` fails, `if-present` proceeds as unsigned.
 * - signatures found: at least one must verify (a signed image whose signatures all fail is refused: that is
 *   tampering, not absence). Found signatures with no keys or identities to check them against fail too.
 * - each required attestation must be found and verify; otherwise the entry fails, whatever its signatures.
 */
import type {AttestationStatus, CandidateVerdict, SignaturePolicy, SignatureStatus, Signer} from './types.ts'

export interface SignatureDecision {
  status: SignatureStatus
  signers: Signer[]
  /** Signatures found (attestations are not counted: they are not signatures). */
  found: number
  /** Why candidates failed (first few), or why the entry fails. */
  reasons: string[]
  /** The digests a verified signature was found for. */
  verifiedDigests: string[]
  /** One per required attestation, in policy order. */
  attestations: AttestationDecision[]
}

export interface AttestationDecision {
  predicateType: string
  status: AttestationStatus
  signers: Signer[]
  reasons: string[]
}

/** Enough reasons to diagnose, few enough for a plan file that people read. */
const MAX_REASONS = 5

type Verdict = CandidateVerdict & {digest?: string}
type Verified = Extract<CandidateVerdict, {kind: 'verified'}> & {digest?: string}

export function decideSignatures(
  policy: {verify: SignaturePolicy['verify']; keys: readonly unknown[]; identities: readonly unknown[]},
  verdicts: readonly Verdict[],
): SignatureDecision {
  const none = {signers: [], verifiedDigests: [], attestations: []}
  const signatures = verdicts.filter((v) => v.claim.kind === 'signature')
  const found = signatures.length
  if (policy.verify === 'skip') return {status: 'skipped', ...none, found, reasons: []}
  if (found === 0) {
    const attestations = verdicts.length
    const also = attestations ? ` (${attestations} attestation${attestations === 1 ? ' was' : 's were'} found, but an attestation is not a signature)` : ''
    return policy.verify === 'required'
      ? {status: 'failed', ...none, found, reasons: [`verify is required but no signature was found${also}`]}
      : {status: 'unsigned', ...none, found, reasons: []}
  }
  if (policy.keys.length === 0 && policy.identities.length === 0) {
    return {
      status: 'failed',
      ...none,
      found,
      reasons: [
        `${found} signature${found === 1 ? ' was' : 's were'} found, but no keys or identities are configured to verify them: add signatures.keys or signatures.identities, or set verify: skip`,
      ],
    }
  }
  const verified = signatures.filter((v): v is Verified => v.kind === 'verified')
  if (verified.length) {
    const verifiedDigests = [...new Set(verified.flatMap((v) => (v.digest ? [v.digest] : [])))]
    return {status: 'verified', ...none, signers: uniqueSigners(verified.map((v) => v.signer)), verifiedDigests, found, reasons: []}
  }
  return {status: 'failed', ...none, found, reasons: failureReasons(signatures)}
}

/**
 * One required attestation, from verdicts judged with the trust it names: found means some candidate claims its
 * predicate type; it verifies when one of those verified (so the claim is the signed statement's).
 */
export function decideAttestation(predicateType: string, verdicts: readonly Verdict[]): AttestationDecision {
  const ofType = verdicts.filter((v) => v.claim.kind === 'attestation' && v.claim.predicateType === predicateType)
  if (ofType.length === 0) return {predicateType, status: 'missing', signers: [], reasons: [`required attestation ${predicateType} was not found`]}
  const verified = ofType.filter((v): v is Verified => v.kind === 'verified')
  if (verified.length) return {predicateType, status: 'verified', signers: uniqueSigners(verified.map((v) => v.signer)), reasons: []}
  const reasons = failureReasons(ofType).map((r) => `required attestation ${predicateType}: ${r}`)
  return {predicateType, status: 'failed', signers: [], reasons}
}

/** The entry's decision with its required attestations: any that is not verified fails the entry. */
export function withAttestations(decision: SignatureDecision, attestations: readonly AttestationDecision[]): SignatureDecision {
  const unmet = attestations.filter((a) => a.status !== 'verified')
  if (unmet.length === 0) return {...decision, attestations: [...attestations]}
  return {
    ...decision,
    status: 'failed',
    reasons: [...decision.reasons, ...unmet.flatMap((a) => a.reasons)].slice(0, MAX_REASONS * 2),
    attestations: [...attestations],
  }
}

function failureReasons(verdicts: readonly Verdict[]): string[] {
  return verdicts.flatMap((v) => (v.kind === 'failed' ? [`${v.source}: ${v.reason}`] : [])).slice(0, MAX_REASONS)
}

function uniqueSigners(signers: Signer[]): Signer[] {
  const seen = new Set<string>()
  return signers.filter((s) => {
    const key = s.kind === 'key' ? `k:${s.fingerprint}` : `i:${s.issuer}:${s.subject}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
