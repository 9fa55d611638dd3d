/**
 * Checking the signatures and attestations of digests in a repository: discover what is stored next to them,
 * turn it into candidates, and verify each against the trust material of a policy. Trust material is built once
 * per distinct trust, so `own === entryTrust` below also means "the same keys and identities".
 */
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import type {Digest} from '../ref/digest.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {statementOf} from './binding.ts'
import {type Artifact, discoverArtifacts, eachCandidate} from './discover.ts'
import {loadTrustedRoot} from './trust.ts'
import type {CandidateVerdict, Identity, SignaturePolicy, TrustedRootSource} from './types.ts'
import {buildTrust, type Trust, verifyCandidate} from './verify.ts'

/** A verdict and the digest its candidate was found for (and bound to). */
export type DigestVerdict = CandidateVerdict & {digest: string}

export interface TrustInput {
  keys: ReadonlyArray<{pem: string}>
  identities: readonly Identity[]
  trustedRoot: TrustedRootSource
}

/** Trusted roots are read once per source, trust material once per distinct policy. */
export class TrustStore {
  private readonly roots = new Map<string, Promise<TrustedRoot>>()
  private readonly trusts = new Map<string, Promise<Trust>>()

  trustFor(input: TrustInput): Promise<Trust> {
    const key = JSON.stringify([input.keys.map((k) => k.pem), input.identities, input.trustedRoot])
    let trust = this.trusts.get(key)
    if (!trust) {
      // buildTrust checks keys and identity patterns up front, so a bad one is one clear error, not a verdict per candidate.
      trust = this.root(input.trustedRoot).then((trustedRoot) =>
        buildTrust({keys: input.keys.map((k) => ({pem: k.pem})), identities: [...input.identities], trustedRoot}),
      )
      this.trusts.set(key, trust)
    }
    return trust
  }

  private root(source: TrustedRootSource): Promise<TrustedRoot> {
    const key = source.kind === 'file' ? `file:${source.path}` : 'public-good'
    const cached = this.roots.get(key)
    if (cached) return cached
    const root = loadTrustedRoot(source)
    this.roots.set(key, root)
    return root
  }
}

/** The trust of a whole policy: the entry's, and each required attestation's (its own, or the entry's). */
export interface PolicyTrustInput {
  entry: TrustInput
  attestations: Array<{predicateType: string; trust: TrustInput}>
}

/** What a policy check found: every candidate judged with the entry's trust, and per required attestation. */
export interface PolicyVerdicts {
  verdicts: DigestVerdict[]
  attestations: Array<{predicateType: string; verdicts: DigestVerdict[]}>
  /** The statements of verified attestations of the types asked for with `statementsOf` (verify prints them). */
  statements: Array<{predicateType: string; source: string; statement: Record<string, unknown>}>
}

/** A definition's policy as trust inputs; attestation items without their own keys or identities use the entry's. */
export function policyTrust(policy: SignaturePolicy): PolicyTrustInput {
  return {
    entry: policy,
    attestations: policy.attestations.map((a) => ({
      predicateType: a.predicateType,
      trust: a.trust.kind === 'entry' ? policy : {keys: a.trust.keys, identities: a.trust.identities, trustedRoot: policy.trustedRoot},
    })),
  }
}

/**
 * Discovers what is stored next to `digests` once, judges every candidate with the entry's trust, and judges the
 * candidates that claim a required attestation's type again with that attestation's trust when it has its own.
 * Each candidate is judged as its blob arrives, so only verdicts are kept, never every signature's bytes at once.
 */
export async function checkPolicy(
  repo: RepositoryHandle,
  digests: readonly Digest[],
  store: TrustStore,
  input: PolicyTrustInput,
  signal?: AbortSignal,
  found?: Map<Digest, Artifact[]>,
  statementsOf: ReadonlySet<string> = new Set(),
): Promise<PolicyVerdicts> {
  const entryTrust = await store.trustFor(input.entry)
  const required = await Promise.all(input.attestations.map(async (a) => ({predicateType: a.predicateType, trust: await store.trustFor(a.trust)})))
  const perDigest = await Promise.all(
    digests.map(async (digest) => {
      const artifacts = await discoverArtifacts(repo, digest, signal)
      found?.set(digest, artifacts)
      return eachCandidate(
        repo,
        artifacts,
        (candidate) => {
          const verdict: DigestVerdict = {...verifyCandidate(candidate, digest, entryTrust), digest}
          const claim = verdict.claim
          const asAttestation = required.map(({predicateType, trust}) => {
            if (claim.kind !== 'attestation' || claim.predicateType !== predicateType) return null
            return trust === entryTrust ? verdict : {...verifyCandidate(candidate, digest, trust), digest}
          })
          // Kept only when asked and verified with the attestation's trust: a statement is small, a verdict smaller.
          const kept = asAttestation.find((v) => v?.kind === 'verified' && v.claim.kind === 'attestation' && statementsOf.has(v.claim.predicateType))
          const statement = kept ? statementOf(candidate) : null
          return {
            verdict,
            asAttestation,
            statement: statement && kept?.claim.kind === 'attestation' ? {predicateType: kept.claim.predicateType, source: kept.source, statement} : null,
          }
        },
        signal,
      )
    }),
  )
  const judged = perDigest.flat()
  return {
    verdicts: judged.map((j) => j.verdict),
    attestations: required.map(({predicateType}, i) => ({predicateType, verdicts: judged.flatMap((j) => (j.asAttestation[i] ? [j.asAttestation[i]] : []))})),
    statements: judged.flatMap((j) => (j.statement ? [j.statement] : [])),
  }
}
