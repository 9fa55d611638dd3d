/**
 * The only I/O of planning: for each entry, resolve the source to a digest and a content description, and
 * HEAD the target tag. HEAD is used wherever it suffices (a Docker Hub HEAD is not counted as a pull); the
 * index or config is read only to learn platforms. Entries are observed concurrently, bounded by the transport.
 */
import type {DefinitionEntry} from '../definition/resolve.ts'
import {platformOfConfig} from '../oci/image-config.ts'
import {ManifestError} from '../oci/manifest.ts'
import {categoryOf, type ErrorCategory} from '../ref/errors.ts'
import {isImageManifest, isIndex} from '../oci/media-types.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import {checkPolicy, policyTrust, TrustStore} from '../signatures/check.ts'
import type {SignaturePolicy} from '../signatures/types.ts'
import {pickLinuxAmd64} from './build.ts'
import {recordPolicy} from './policy-record.ts'
import type {PolicyRecord} from './signature-record.ts'
import {formatReference} from '../ref/reference.ts'
import type {RegistryClient, Repository} from '../registry/client.ts'
import {mapLimit} from '../transport/limiter.ts'
import type {FailureReason, Observation, SourceContent} from './observation.ts'

/** An image config is a few KiB; 1 MiB leaves room for huge label sets and still bounds memory. */
const MAX_CONFIG_BYTES = 1024 * 1024

/** Entries in flight at once; the per-host request bound in the transport is the real throttle. */
export const OBSERVE_CONCURRENCY = 32

export async function observeEntries(entries: readonly DefinitionEntry[], client: RegistryClient, signal?: AbortSignal): Promise<Observation[]> {
  const signatures = new SignatureObserver(client)
  return mapLimit(entries, OBSERVE_CONCURRENCY, (entry) => observeEntry(entry, client, signatures, signal))
}

export async function observeEntry(entry: DefinitionEntry, client: RegistryClient, signatures: SignatureObserver, signal?: AbortSignal): Promise<Observation> {
  const source = {registry: entry.sourceRef.registry, repository: entry.sourceRef.repository}
  const target = {registry: entry.target.registry, repository: entry.target.repository}
  try {
    const reference = entry.pin.kind === 'digest' ? entry.pin.digest : entry.pin.tag
    const [head, targetHead] = await Promise.all([client.headManifest(source, reference, signal), client.headManifest(target, entry.target.tag!, signal)])
    if (!head) {
      const what = entry.pin.kind === 'digest' ? `digest ${entry.pin.digest}` : `tag ${entry.pin.tag}`
      return {kind: 'unreachable', reason: 'source-not-found', message: `${what} does not exist in ${formatReference({...entry.sourceRef, tag: undefined, digest: undefined})}`}
    }
    let content: SourceContent
    if (isIndex(head.mediaType)) {
      const manifest = await client.getManifest(source, head.digest, signal)
      if (manifest.parsed.kind !== 'index') throw new ManifestError('INVALID_MANIFEST', `${head.digest} was announced as an index but is not one`)
      content = {kind: 'index', manifests: manifest.parsed.index.manifests}
    } else if (isImageManifest(head.mediaType)) {
      const manifest = await client.getManifest(source, head.digest, signal)
      if (manifest.parsed.kind !== 'image') throw new ManifestError('INVALID_MANIFEST', `${head.digest} was announced as an image manifest but is not one`)
      const configDigest = manifest.parsed.manifest.config.digest
      const config = isDigest(configDigest) ? await client.getSmallBlob(source, configDigest, MAX_CONFIG_BYTES, signal) : null
      content = {kind: 'image', platform: config ? platformOfConfig(config) : null}
    } else {
      // Schema 1 and unknown types are refused here with the parser's sentence.
      await client.getManifest(source, head.digest, signal)
      throw new ManifestError('UNSUPPORTED_MEDIA_TYPE', `unsupported manifest media type "${head.mediaType}"`)
    }
    const checked = await signatures.observe(entry, source, signedDigests(entry, head.digest, content), signal)
    return {kind: 'observed', source: {digest: head.digest, mediaType: head.mediaType, content}, targetDigest: targetHead?.digest ?? null, signatures: checked}
  } catch (err) {
    const reason = classify(err)
    if (!reason) throw err
    return {kind: 'unreachable', reason, message: (err as Error).message}
  }
}

/**
 * The digests whose signatures vouch for what the entry copies. A whole copy: the index (or single manifest)
 * digest. amd64Only: the amd64 manifest's own digest, and the index's, since the index we read by digest
 * lists that manifest (the rule documented in the README).
 */
function signedDigests(entry: DefinitionEntry, digest: Digest, content: SourceContent): Digest[] {
  if (entry.selection.kind === 'whole' || content.kind === 'image') return [digest]
  const amd64 = pickLinuxAmd64(content.manifests)
  return amd64 ? [amd64.digest, digest] : [digest]
}

/** Records each distinct policy once and verifies what is found against it. */
class SignatureObserver {
  private readonly records = new Map<SignaturePolicy, Promise<PolicyRecord>>()
  private readonly trust = new TrustStore()

  constructor(private readonly client: RegistryClient) {}

  async observe(entry: DefinitionEntry, repo: Repository, digests: Digest[], signal?: AbortSignal): Promise<Extract<Observation, {kind: 'observed'}>['signatures']> {
    let record = this.records.get(entry.signatures)
    if (!record) {
      record = recordPolicy(entry.signatures)
      this.records.set(entry.signatures, record)
    }
    const policy = await record
    if (policy.verify === 'skip' && policy.attestations.length === 0) return {policy, verdicts: [], attestations: []}
    return {policy, ...(await checkPolicy(this.client, repo, digests, this.trust, policyTrust(entry.signatures), signal))}
  }
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
  return category === null ? null : FAILURE_REASONS[category] ?? null
}
