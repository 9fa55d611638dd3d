/**
 * Attaching the mirror's SLSA provenance to a target digest: a DSSE bundle signed with the `sign:` signer, pushed
 * as an OCI referrer (the fallback tag where the registry has no referrers API; untagged in a layout). Idempotent
 * like signing: our referrer names its signer and source, and a digest that already holds one from the same signer
 * for the same source is left alone, so a second apply adds nothing.
 */
import type {RepositoryHandle} from '../registry/handle.ts'
import {pushReferrer} from './copy.ts'
import {discoverArtifacts} from './discover.ts'
import {type ProvenanceFacts, provenanceStatement, SLSA_PROVENANCE_V1} from './provenance.ts'
import {EMPTY_CONFIG, referrerManifest, SIGNER_ANNOTATION, signerFor, type Subject} from './sign-target.ts'
import type {SignSpec} from './types.ts'

export type AttestOutcome = 'attached' | 'already-attached'

/** Which source the provenance referrer is about: a digest mirrored from two sources gets one statement per source. */
const SOURCE_ANNOTATION = 'dev.image-syncer.source'
const PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType'

/** `facts` without `finishedOn`: the statement is dated when it is signed. */
export async function attachProvenance(
  repo: RepositoryHandle,
  subject: Subject,
  facts: Omit<ProvenanceFacts, 'finishedOn'>,
  spec: SignSpec,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<AttestOutcome> {
  const signer = await signerFor(spec, env)
  const marker = {[SIGNER_ANNOTATION]: signer.id, [SOURCE_ANNOTATION]: facts.source.repository}
  if (await alreadyAttached(repo, subject, marker, signal)) return 'already-attached'
  const statement = provenanceStatement({...facts, finishedOn: new Date().toISOString()})
  const bundle = await signer.statement(new TextEncoder().encode(JSON.stringify(statement)))
  await pushReferrer(repo, referrerManifest(subject, bundle, SLSA_PROVENANCE_V1, marker), [EMPTY_CONFIG, bundle], signal)
  return 'attached'
}

async function alreadyAttached(repo: RepositoryHandle, subject: Subject, marker: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
  const artifacts = await discoverArtifacts(repo, subject.digest, signal)
  return artifacts.some((artifact) => {
    if (artifact.kind !== 'referrer' || artifact.manifest.parsed.kind !== 'image') return false
    const annotations = artifact.manifest.parsed.manifest.annotations ?? {}
    return annotations[PREDICATE_ANNOTATION] === SLSA_PROVENANCE_V1 && Object.entries(marker).every(([k, v]) => annotations[k] === v)
  })
}
