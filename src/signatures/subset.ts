/**
 * Whose signatures vouch for a platform subset (definition `platforms:` with several platforms). The subset
 * index is new, written by us, so no one upstream signed it: plan and apply both judge it by the source index
 * and the platform manifests it keeps, with the same two rules here.
 */
import type {Descriptor} from '../oci/manifest.ts'
import {parsePlatform, platformMatches} from '../oci/platform.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import type {SignatureDecision} from './decide.ts'

/** The platform manifests (attestations left out) a subset keeps, for the signatures that vouch for them. */
export function keptPlatformManifests(platforms: readonly string[], manifests: readonly Descriptor[]): Digest[] {
  const wanted = platforms.map(parsePlatform).filter((p) => p !== null)
  return manifests.filter((d) => wanted.some((w) => platformMatches(w, d.platform)) && isDigest(d.digest)).map((d) => d.digest as Digest)
}

/**
 * A subset is vouched for by a verified signature on the source index (which lists every kept manifest) or on
 * each kept platform manifest: one signed platform does not vouch for another, so a verdict resting on some
 * kept manifests only is a failure, with the ones that lack a signature named.
 */
export function subsetDecision(decision: SignatureDecision, indexDigest: string, kept: readonly string[]): SignatureDecision {
  if (decision.status !== 'verified' || decision.verifiedDigests.includes(indexDigest)) return decision
  const unsigned = kept.filter((d) => !decision.verifiedDigests.includes(d))
  if (unsigned.length === 0) return decision
  return {
    ...decision,
    status: 'failed',
    reasons: [
      `neither the source index ${indexDigest} nor every kept platform manifest has a verified signature (none on ${unsigned.join(', ')})`,
      ...decision.reasons,
    ],
  }
}
