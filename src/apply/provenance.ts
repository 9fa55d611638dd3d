/**
 * Step 5 of an entry's signatures (signatures.ts), with `provenance: true`: once the target digest is in place and
 * verifies as the source did, attach the mirror's SLSA provenance about it, signed with `sign:`. Also for a digest
 * that was already present, which gets the statement it lacks. What the statement says comes from the plan file
 * (entry, definition sha256, the plan's own sha256), the source check made just now, and the CI run.
 */
import type {Digest} from '../ref/digest.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {type AttestOutcome, attachProvenance} from '../signatures/attest-target.ts'
import type {SignatureDecision} from '../signatures/decide.ts'
import type {CiRun} from '../signatures/provenance.ts'
import type {Subject} from '../signatures/sign-target.ts'
import type {CopyStep} from './step.ts'

/** What every statement of one apply run shares. */
export interface ProvenanceRun {
  definition: {path: string; sha256: Digest}
  plan: {sha256: Digest}
  version: string
  ci: CiRun | null
  /** When the apply run started (`runDetails.metadata.startedOn`). */
  startedOn: string
  /** Attaching in flight per target digest and source: two entries of one digest must not both attach. */
  attaching: Map<string, Promise<AttestOutcome>>
}

export type ProvenanceOutcome = AttestOutcome | 'not-asked'

export async function attestTarget(
  step: CopyStep,
  target: RepositoryHandle,
  subject: Subject,
  decision: SignatureDecision,
  run: ProvenanceRun,
  context: {env: Record<string, string | undefined>; signal?: AbortSignal},
): Promise<ProvenanceOutcome> {
  const provenance = step.signatures.provenance
  if (provenance === null) return 'not-asked'
  // A failed source never gets this far (nothing is copied or attested); the statement records what passed.
  if (decision.status === 'failed') throw new Error('a source that failed its signature check cannot be attested')
  const facts = {
    target: {repository: target.name, reference: step.target.name, digest: subject.digest},
    source: {reference: provenance.source.reference, repository: step.source.name, digest: provenance.source.digest},
    selection: provenance.selection,
    definition: run.definition,
    plan: run.plan,
    verification: {
      status: decision.status,
      signers: decision.signers,
      policy: {...provenance.policy, attestations: decision.attestations.map((a) => ({predicateType: a.predicateType, status: a.status}))},
    },
    tool: {version: run.version},
    run: run.ci,
    startedOn: run.startedOn,
  }
  const key = `${target.name}@${subject.digest} ${step.source.name}`
  const attach = () => attachProvenance(target, subject, facts, provenance.signer, context.env, context.signal)
  const earlier = run.attaching.get(key)
  if (earlier) {
    await earlier.catch(() => {})
    return attach()
  }
  const pending = attach()
  run.attaching.set(key, pending)
  return pending
}
