/**
 * The signature verdict for one entry under its policy, from what was found and how each candidate fared.
 * Pure, so plan and apply decide alike and the rules are tested without a registry:
 * - skip: no check.
 * - nothing found: `required` fails, `if-present` proceeds as unsigned.
 * - something found: at least one candidate must verify (a signed image whose signatures all fail is refused:
 *   that is tampering, not absence). Found signatures with no keys or identities to check them against fail too.
 */
import type {CandidateVerdict, SignaturePolicy, SignatureStatus, Signer} from './types.ts'

export interface SignatureDecision {
  status: SignatureStatus
  signers: Signer[]
  /** Candidates found (signatures and attestations that could be checked). */
  found: number
  /** Why candidates failed (first few), or why the entry fails. */
  reasons: string[]
  /** The digests a verified signature was found for. */
  verifiedDigests: string[]
}

/** Enough reasons to diagnose, few enough for a plan file that people read. */
const MAX_REASONS = 5

export function decideSignatures(
  policy: {verify: SignaturePolicy['verify']; keys: readonly unknown[]; identities: readonly unknown[]},
  verdicts: ReadonlyArray<CandidateVerdict & {digest?: string}>,
): SignatureDecision {
  const none = {signers: [], verifiedDigests: []}
  const found = verdicts.length
  if (policy.verify === 'skip') return {status: 'skipped', ...none, found, reasons: []}
  if (found === 0) {
    return policy.verify === 'required'
      ? {status: 'failed', ...none, found, reasons: ['verify is required but no signature was found']}
      : {status: 'unsigned', ...none, found, reasons: []}
  }
  if (policy.keys.length === 0 && policy.identities.length === 0) {
    return {status: 'failed', ...none, found, reasons: [`${found} signature${found === 1 ? ' was' : 's were'} found, but no keys or identities are configured to verify them: add signatures.keys or signatures.identities, or set verify: skip`]}
  }
  const verified = verdicts.filter((v): v is Extract<CandidateVerdict, {kind: 'verified'}> & {digest?: string} => v.kind === 'verified')
  if (verified.length) {
    const verifiedDigests = [...new Set(verified.flatMap((v) => (v.digest ? [v.digest] : [])))]
    return {status: 'verified', signers: uniqueSigners(verified.map((v) => v.signer)), verifiedDigests, found, reasons: []}
  }
  const reasons = verdicts.flatMap((v) => (v.kind === 'failed' ? [`${v.source}: ${v.reason}`] : [])).slice(0, MAX_REASONS)
  return {status: 'failed', ...none, found, reasons}
}

export function describeSigner(signer: Signer): string {
  return signer.kind === 'key' ? `key ${signer.fingerprint.slice(0, 19)}` : `${signer.subject} (${signer.issuer})`
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
