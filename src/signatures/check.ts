/**
 * Checking the signatures of digests in a repository: discover what is stored next to them, turn it into
 * candidates, and verify each against the trust material of a policy. Trust material is built once per policy.
 */
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import type {Digest} from '../ref/digest.ts'
import type {RegistryClient, Repository} from '../registry/client.ts'
import {type Artifact, discoverArtifacts, eachCandidate} from './discover.ts'
import {loadTrustedRoot} from './trust.ts'
import type {CandidateVerdict, Identity, TrustedRootSource} from './types.ts'
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
      trust = this.root(input.trustedRoot).then((trustedRoot) => buildTrust({keys: input.keys.map((k) => ({pem: k.pem})), identities: [...input.identities], trustedRoot}))
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

/**
 * Verdicts for every signature found next to `digests` in `repo`. Each candidate is bound to the digest it was
 * found for, so an index's signature never vouches for another digest by accident. `found` holds the artifacts
 * discovered per digest, for callers that go on to copy them without asking the registry twice.
 */
export async function collectVerdicts(
  client: RegistryClient,
  repo: Repository,
  digests: readonly Digest[],
  trust: Trust,
  signal?: AbortSignal,
  found?: Map<Digest, Artifact[]>,
): Promise<DigestVerdict[]> {
  const perDigest = await Promise.all(
    digests.map(async (digest) => {
      const artifacts = await discoverArtifacts(client, repo, digest, signal)
      found?.set(digest, artifacts)
      // Verified as each blob arrives, so only verdicts are kept, never every signature's bytes at once.
      return eachCandidate(client, repo, artifacts, (candidate) => ({...verifyCandidate(candidate, digest, trust), digest}), signal)
    }),
  )
  return perDigest.flat()
}
