/**
 * The only I/O of planning: for each entry, resolve the source to a digest (HEAD) and read the target tag (GET:
 * the target is ours, its reads cost no pulls). When the target already holds the source digest, what the plan
 * shows (platforms, signatures) is read there, so a warm plan spends no Docker Hub pull; otherwise each distinct
 * source digest is read once. Entries are observed concurrently, bounded by the transport.
 */
import type {DefinitionEntry} from '../definition/resolve.ts'
import {categoryOf, type ErrorCategory} from '../ref/errors.ts'
import type {Digest} from '../ref/digest.ts'
import {checkPolicy, policyTrust, type PolicyVerdicts, TrustStore} from '../signatures/check.ts'
import {decideSignatures} from '../signatures/decide.ts'
import type {Artifact} from '../signatures/discover.ts'
import type {SignaturePolicy} from '../signatures/types.ts'
import {pickPlatform} from './select-platforms.ts'
import {keptPlatformManifests} from '../signatures/subset.ts'
import {ContentReader} from './content.ts'
import {recordPolicy} from './policy-record.ts'
import type {PolicyRecord} from './signature-record.ts'
import {formatReference} from '../ref/reference.ts'
import type {RepositoryHandle, Stores} from '../registry/handle.ts'
import {rateLimited} from '../registry/refusals.ts'
import {mapLimit} from '../transport/limiter.ts'
import type {FailureReason, Observation, SourceContent} from './observation.ts'

/** Entries in flight at once; the per-host request bound in the transport is the real throttle. */
export const OBSERVE_CONCURRENCY = 32

/** Told each entry's observation as soon as it is made (`sync` starts copying it then), by its index in `entries`. */
export type OnObserved = (index: number, observation: Observation) => void

export async function observeEntries(
  entries: readonly DefinitionEntry[],
  stores: Stores,
  signal?: AbortSignal,
  onObserved?: OnObserved,
): Promise<Observation[]> {
  const signatures = new SignatureObserver()
  const contents = new ContentReader()
  return mapLimit(entries, OBSERVE_CONCURRENCY, async (entry, i) => {
    const observation = await observeEntry(entry, stores, contents, signatures, signal)
    onObserved?.(i, observation)
    return observation
  })
}

async function observeEntry(
  entry: DefinitionEntry,
  stores: Stores,
  contents: ContentReader,
  signatures: SignatureObserver,
  signal?: AbortSignal,
): Promise<Observation> {
  const source = stores.repository({registry: entry.sourceRef.registry, repository: entry.sourceRef.repository})
  const target = stores.repository({registry: entry.target.registry, repository: entry.target.repository})
  try {
    const reference = entry.pin.kind === 'digest' ? entry.pin.digest : entry.pin.tag
    const [head, held] = await Promise.all([source.headManifest(reference, {signal}), target.getManifestBytesIfPresent(entry.target.tag!, {signal})])
    if (!head) {
      const what = entry.pin.kind === 'digest' ? `digest ${entry.pin.digest}` : `tag ${entry.pin.tag}`
      return {
        kind: 'unreachable',
        reason: 'source-not-found',
        message: `${what} does not exist in ${formatReference({...entry.sourceRef, tag: undefined, digest: undefined})}`,
      }
    }
    // The target holds exactly the source digest: everything below it is there too, and reading it is free.
    const warm = held !== null && held.digest === head.digest
    const check = (digests: Digest[]) =>
      warm ? signatures.observeMirrored(entry, source, target, digests, signal) : signatures.observe(entry, source, digests, signal)
    // A whole copy's signatures are its digest's: looked for while its content is read, not after (a round trip).
    const early = entry.selection.kind === 'whole' ? check([head.digest]) : null
    early?.catch(() => {})
    const content = warm
      ? await contents.contentOf(target, head.digest, head.mediaType, held, signal)
      : await contents.contentOf(source, head.digest, head.mediaType, null, signal)
    const checked = await (early ?? check(signedDigests(entry, head.digest, content)))
    return {
      kind: 'observed',
      source: {digest: head.digest, mediaType: head.mediaType, content},
      targetDigest: held?.digest ?? null,
      signatures: {policy: checked.policy, verdicts: checked.verdicts, attestations: checked.attestations},
      signaturePulls: checked.pulls,
    }
  } catch (err) {
    const reason = classify(err)
    if (!reason) throw err
    return {kind: 'unreachable', reason, message: rateLimited(err, 'plan') ?? (err as Error).message}
  }
}

/**
 * The digests whose signatures vouch for what the entry copies. A whole copy: the index (or single manifest)
 * digest. One platform: its manifest's own digest, and the index's, since the index we read by digest lists
 * that manifest (the rule documented in the README). Several platforms: the source index, which lists every
 * kept manifest, then each kept platform manifest (the new index is ours: no one upstream signed it).
 */
function signedDigests(entry: DefinitionEntry, digest: Digest, content: SourceContent): Digest[] {
  if (entry.selection.kind === 'whole' || content.kind !== 'index') return [digest]
  if (entry.selection.kind === 'platforms') return [digest, ...keptPlatformManifests(entry.selection.platforms, content.manifests)]
  const picked = pickPlatform(content.manifests, entry.selection.platform)
  return picked ? [picked.digest, digest] : [digest]
}

interface Checked extends Omit<PolicyVerdicts, 'statements'> {
  policy: PolicyRecord
  /** Manifest GETs apply will make at the source for these signatures (0 when read at the target). */
  pulls: number
}

/** Records each distinct policy once and verifies what is found against it. */
class SignatureObserver {
  private readonly records = new Map<SignaturePolicy, Promise<PolicyRecord>>()
  private readonly trust = new TrustStore()

  async observe(entry: DefinitionEntry, repo: RepositoryHandle, digests: Digest[], signal?: AbortSignal): Promise<Checked> {
    const policy = await this.policy(entry)
    if (policy.verify === 'skip' && policy.attestations.length === 0) return {policy, verdicts: [], attestations: [], pulls: 0}
    const found = new Map<Digest, Artifact[]>()
    const checked = await checkPolicy(repo, digests, this.trust, policyTrust(entry.signatures), signal, found)
    return {policy, ...checked, pulls: [...found.values()].reduce((n, artifacts) => n + artifactPulls(artifacts), 0)}
  }

  /**
   * The signatures of a digest the target already holds, read at the target: apply carried them there and
   * verified them. Only when they do not pass there (not carried: `copy: false`, or the policy changed since) is
   * the source asked, so that the verdict is never worse than the source's.
   */
  async observeMirrored(entry: DefinitionEntry, source: RepositoryHandle, target: RepositoryHandle, digests: Digest[], signal?: AbortSignal): Promise<Checked> {
    const mirrored = await this.observe(entry, target, digests, signal)
    const attestationsHold = mirrored.attestations.every((a) => a.verdicts.some((v) => v.kind === 'verified'))
    if (decideSignatures(mirrored.policy, mirrored.verdicts).status !== 'failed' && attestationsHold) return {...mirrored, pulls: 0}
    return {...(await this.observe(entry, source, digests, signal)), pulls: 0}
  }

  private policy(entry: DefinitionEntry): Promise<PolicyRecord> {
    let record = this.records.get(entry.signatures)
    if (!record) {
      record = recordPolicy(entry.signatures)
      this.records.set(entry.signatures, record)
    }
    return record
  }
}

/** Each artifact's manifest is one GET; referrers listed by a fallback index cost that index's GET too. */
function artifactPulls(artifacts: readonly Artifact[]): number {
  return artifacts.length + (artifacts.some((a) => a.kind === 'referrer') ? 1 : 0)
}

/** What each category of deliberate error is reported as; the rest (input, signature trust) stop the whole plan. */
const FAILURE_REASONS: Partial<Record<ErrorCategory, FailureReason>> = {
  auth: 'auth',
  'not-found': 'source-not-found',
  registry: 'registry',
  network: 'network',
  content: 'content',
}

/** Known failures become a reported reason; anything else propagates. */
function classify(err: unknown): FailureReason | null {
  const category = categoryOf(err)
  return category === null ? null : (FAILURE_REASONS[category] ?? null)
}
