/**
 * What apply does about signatures, around the image copy of one entry:
 * 1. before writing anything, verify the source again against the planned policy (its trust resolved when the
 *    entry was decoded, step.ts), required attestations included (the plan's verdict is not trusted alone);
 * 2. after the image, carry its signatures, attestations, SBOMs and referrers to the target;
 * 3. verify the target with the same policy: the mirror must verify as the source did;
 * 4. optionally sign the target digest, idempotently.
 */
import {SyncerError} from '../ref/errors.ts'
import type {Digest} from '../ref/digest.ts'
import type {CopyEngine, Route} from '../copy/engine.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {checkPolicy, type TrustInput, type TrustStore} from '../signatures/check.ts'
import {copyArtifacts} from '../signatures/copy.ts'
import {decideAttestation, decideSignatures, type SignatureDecision, withAttestations} from '../signatures/decide.ts'
import {type Artifact, discoverArtifacts} from '../signatures/discover.ts'
import {signTarget, type SignOutcome, type Subject} from '../signatures/sign-target.ts'
import {subsetDecision} from '../signatures/subset.ts'
import type {SignSpec} from '../signatures/types.ts'
import {attestTarget, type ProvenanceOutcome, type ProvenanceRun} from './provenance.ts'
import type {CopyStep, SignatureStep} from './step.ts'

/** What the signature steps of every entry in one apply run share. */
export interface SignatureRun {
  trust: TrustStore
  env: Record<string, string | undefined>
  /** Signing in flight per target repository and digest: two entries of one digest must not both sign it. */
  signing: Map<string, Promise<SignOutcome>>
  /** The run's provenance facts; known once the whole plan is (sync starts copies earlier), read past the tag gate. */
  provenance: () => ProvenanceRun
  signal?: AbortSignal
}

export interface SignatureReport {
  status: SignatureDecision['status']
  /** Signature artifacts (legacy tags and referrers) carried to the target. */
  copied: number
  signed: SignOutcome | 'not-asked'
  /** Only with `provenance: true`. */
  provenance?: Exclude<ProvenanceOutcome, 'not-asked'>
}

/** The digests whose signatures vouch for the entry (the same rule as plan's); `kept`: a subset's platform manifests. */
function signedDigests(step: CopyStep, kept: readonly Digest[]): Digest[] {
  const {content} = step
  if (content.kind === 'platform' && content.index) return [step.digest, content.index]
  if (content.kind === 'platforms') return [content.index, ...kept]
  return [step.digest]
}

/** What `decideSignatures` weighs of the policy: its mode, and whether it has keys or identities to check with. */
function judgedBy(signatures: SignatureStep, trust: TrustInput | null) {
  return {verify: signatures.verify, keys: trust?.keys ?? [], identities: trust?.identities ?? []}
}

/** The source's verdict, and what was found next to each digest (reused when carrying, not looked up twice). */
export interface SourceCheck {
  decision: SignatureDecision
  found: Map<Digest, Artifact[]>
}

/** Step 1: the source's verdict now, against the digests about to be copied, required attestations included. */
export async function verifySource(step: CopyStep, source: RepositoryHandle, ctx: SignatureRun, kept: readonly Digest[] = []): Promise<SourceCheck> {
  const {signatures, content} = step
  const found = new Map<Digest, Artifact[]>()
  const {trust} = signatures
  if (trust.kind === 'none') return {decision: decideSignatures(judgedBy(signatures, null), []), found}
  if (trust.kind === 'unusable') throw trust.error
  const checked = await checkPolicy(source, signedDigests(step, kept), ctx.trust, trust.input, ctx.signal, found)
  const attestations = checked.attestations.map((a) => decideAttestation(a.predicateType, a.verdicts))
  const decided = decideSignatures(judgedBy(signatures, trust.input.entry), checked.verdicts)
  const decision = content.kind === 'platforms' ? subsetDecision(decided, content.index, kept) : decided
  return {decision: withAttestations(decision, attestations), found}
}

/**
 * Steps 2–4, after the image manifests are in the target (by digest) and before its tag is written. Throws when
 * the target does not verify like the source did, so the entry fails and its tag is not written.
 */
export async function carryAndSign(
  step: CopyStep,
  route: Route,
  subject: Subject,
  check: SourceCheck,
  engine: CopyEngine,
  ctx: SignatureRun,
  carried: readonly Digest[],
): Promise<SignatureReport> {
  const {source, target} = route
  const sourceDecision = check.decision
  const {signatures} = step
  const {trust} = signatures
  let copied = 0
  if (signatures.copy) {
    // `carried`: the copied digest, or a subset index's children (each carries its own signatures).
    for (const each of carried) {
      const artifacts = check.found.get(each) ?? (await discoverArtifacts(source, each, ctx.signal))
      const report = await copyArtifacts(engine, source, target, each, artifacts, ctx.signal)
      copied += report.legacyTags + report.referrers
    }
  }
  const signed = signatures.sign ? await signOnce(target, subject, signatures.sign, ctx) : 'not-asked'
  // A verified source was checked with resolved trust; the same trust judges the mirror.
  if (sourceDecision.status === 'verified' && signatures.copy && trust.kind === 'resolved' && ownSignature(step, sourceDecision)) {
    // Signatures only: an attestation of an amd64Only entry may be on the index, which is not copied.
    const checked = await checkPolicy(target, [step.digest], ctx.trust, {entry: trust.input.entry, attestations: []}, ctx.signal)
    const mirrored = decideSignatures(judgedBy(signatures, trust.input.entry), checked.verdicts)
    if (mirrored.status !== 'verified') {
      throw new MirrorVerificationError(
        `the copied signatures of ${step.target.name} do not verify at the target (${mirrored.reasons[0] ?? mirrored.status}); the tag was not written`,
      )
    }
  }
  const provenance = await attestTarget(step, target, subject, sourceDecision, ctx.provenance(), ctx)
  return {status: sourceDecision.status, copied, signed, ...(provenance === 'not-asked' ? {} : {provenance})}
}

/**
 * A target digest that was already there (planned present, or found so at apply time) with `provenance: true`:
 * the source is verified now, as before a copy, and the digest gets the statement it lacks. Nothing else is written.
 */
export async function attestPresent(step: CopyStep, route: Route, subject: Subject, check: SourceCheck, ctx: SignatureRun): Promise<SignatureReport> {
  const provenance = await attestTarget(step, route.target, subject, check.decision, ctx.provenance(), ctx)
  return {status: check.decision.status, copied: 0, signed: 'not-asked', ...(provenance === 'not-asked' ? {} : {provenance})}
}

/** The first entry to sign a digest does it; others of the same digest in this run wait and find it signed. */
async function signOnce(target: RepositoryHandle, subject: Subject, spec: SignSpec, ctx: SignatureRun): Promise<SignOutcome> {
  const key = `${target.name}@${subject.digest}`
  const earlier = ctx.signing.get(key)
  if (earlier) {
    await earlier.catch(() => {})
    return signTarget(target, subject, spec, ctx.env, ctx.signal)
  }
  const pending = signTarget(target, subject, spec, ctx.env, ctx.signal)
  ctx.signing.set(key, pending)
  return pending
}

/**
 * Whether the source verified through a signature of the copied digest itself. amd64Only entries verified only
 * through their index's signature cannot verify the same way at the target, where the index is not copied.
 */
function ownSignature(step: CopyStep, decision: SignatureDecision): boolean {
  return step.content.kind === 'whole' || decision.verifiedDigests.includes(step.digest)
}

class MirrorVerificationError extends SyncerError {
  override readonly name = 'MirrorVerificationError'
  readonly category = 'signature' as const
  readonly code = 'MIRROR_SIGNATURES_DO_NOT_VERIFY'
}
