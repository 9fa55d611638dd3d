/**
 * A plan entry decoded for apply, once per entry before anything is sent: what the entry does, with its
 * references parsed, its platform selection typed, the looks a reviewed plan takes before writing, and its
 * signature policy's trust resolved from the plan's record into what signature checks take. Past this point
 * nothing reads the plan's record forms again: the copy only goes down, to the copy engine, signatures and stores.
 */
import type {PlanEntry} from '../plan/model.ts'
import type {Digest} from '../ref/digest.ts'
import {BadReferenceError} from '../ref/errors.ts'
import {parseReference} from '../ref/reference.ts'
import type {PolicyTrustInput} from '../signatures/check.ts'
import type {ProvenanceSelection, SourceVerification} from '../signatures/provenance.ts'
import type {SignSpec, VerifyMode} from '../signatures/types.ts'
import {RecordedTrust} from './recorded-trust.ts'
import type {MovedSources} from './source-tag.ts'

/**
 * `reviewed` (apply): the plan may be hours old, so each entry looks at its target tag before copying anything.
 * `just-made` (sync): this process planned it a moment ago and saw the tag absent; only the look right before the
 * tag PUT remains, which is what guards against overwriting. Nor is its source tag looked at again: nobody could
 * edit a plan that never left memory, and the digest it copies is the one just observed and verified.
 */
export type PlanAge = 'reviewed' | 'just-made'

/** How this run treats what a plan may have missed since it was made. */
export interface Stance {
  planAge: PlanAge
  /** What a reviewed plan's entry gets when its source tag moved since planning (source-tag.ts). */
  movedSources: MovedSources
}

/** The entry as apply reports it: as the plan file names it. */
interface StepIdentity {
  source: string
  target: string
  sourceDigest: string
}

export type ApplyStep =
  | {kind: 'copy'; identity: StepIdentity; copy: CopyStep}
  /** Planned present: nothing is sent. */
  | {kind: 'already-present'; identity: StepIdentity}
  /** Planned conflicting: the whole plan is refused before anything is sent. */
  | {kind: 'conflict'; identity: StepIdentity; targetDigest: Digest | null}
  /** A to-copy entry apply cannot read (a reference that does not parse): it fails alone, with why. */
  | {kind: 'unreadable'; identity: StepIdentity; error: unknown}

export interface CopyStep {
  source: {registry: string; repository: string /** `registry/repository`, for messages. */; name: string}
  target: {registry: string; repository: string; tag: string /** The full reference, for messages. */; name: string}
  /** What the target tag gets: the planned digest, read by digest whatever the source tag says by then. */
  digest: Digest
  content: StepContent
  looks: Looks
  signatures: SignatureStep
}

/**
 * What of the source is copied: everything under the step's digest; one platform's manifest picked out of
 * `index` (null: the source is that single manifest); or a new index of several platforms computed from `index`,
 * which must come out as `digest` (the step's digest too, in a consistent plan).
 */
export type StepContent =
  | {kind: 'whole'}
  | {kind: 'platform'; platform: string; index: Digest | null}
  | {kind: 'platforms'; platforms: string[]; index: Digest; digest: Digest}

/**
 * What is looked at before anything is written: nothing for a plan just made; the target tag for a reviewed
 * one; and the source tag too when it was read by tag and a moved one is refused (`recorded`: what it resolved
 * to when planned, the source index for a platform picked out of one or a subset).
 */
type Looks = {kind: 'none'} | {kind: 'target'} | {kind: 'target-and-source'; tag: string; recorded: Digest}

/** What apply does about signatures for the entry (signatures.ts), from the plan's policy record. */
export interface SignatureStep {
  verify: VerifyMode
  trust: StepTrust
  /** Carry signatures, attestations, SBOMs and other referrers to the target. */
  copy: boolean
  sign: SignSpec | null
  /** `provenance: true`: what the statement about the target digest says of the entry (apply/provenance.ts). */
  provenance: ProvenanceStep | null
}

/** The entry's part of its provenance statement, from the plan; the run's part (definition, plan, CI) is shared. */
export interface ProvenanceStep {
  signer: SignSpec
  /** The source as the definition wrote it, and the digest read there: the index a platform or subset came from. */
  source: {reference: string; digest: Digest}
  selection: ProvenanceSelection
  policy: Omit<SourceVerification['policy'], 'attestations'>
}

/**
 * `none`: nothing is checked (verify: skip, no attestation required). `unusable`: the recorded trust cannot be
 * used now (a trusted root file changed or unreadable); the entry fails with it when it comes to verifying.
 */
type StepTrust = {kind: 'none'} | {kind: 'resolved'; input: PolicyTrustInput} | {kind: 'unusable'; error: unknown}

/** Every entry's step, in plan order; decoding never throws: what cannot be decoded is the entry's failure. */
export function decodeSteps(entries: readonly PlanEntry[], stance: Stance): Promise<ApplyStep[]> {
  const decoder = new StepDecoder(stance)
  return Promise.all(entries.map((entry) => decoder.decode(entry)))
}

/** Decodes entries one at a time, as `sync` plans them, sharing what decodeSteps shares (each root file read once). */
export class StepDecoder {
  private readonly trust = new RecordedTrust()

  constructor(private readonly stance: Stance) {}

  decode(entry: PlanEntry): Promise<ApplyStep> {
    return decodeStep(entry, this.stance, this.trust)
  }
}

async function decodeStep(entry: PlanEntry, stance: Stance, trust: RecordedTrust): Promise<ApplyStep> {
  const identity = {source: entry.source, target: entry.target, sourceDigest: entry.sourceDigest}
  // With provenance on, a digest already present is looked at, and attested if it lacks ours (copy-entry.ts).
  const attestPresent = entry.action === 'already-present' && entry.signature.policy.provenance === true
  if (entry.action === 'already-present' && !attestPresent) return {kind: 'already-present', identity}
  if (entry.action === 'conflicting-ID') return {kind: 'conflict', identity, targetDigest: entry.targetDigest as Digest | null}
  let copy: Omit<CopyStep, 'signatures'>
  try {
    copy = decodeCopy(entry, stance)
  } catch (error) {
    return {kind: 'unreadable', identity, error}
  }
  if (attestPresent && copy.looks.kind === 'none') copy = {...copy, looks: {kind: 'target'}}
  const signatures = await decodeSignatures(entry.signature.policy, trust)
  return {kind: 'copy', identity, copy: {...copy, signatures: {...signatures, provenance: decodeProvenance(entry)}}}
}

function decodeProvenance(entry: PlanEntry): ProvenanceStep | null {
  const {policy} = entry.signature
  if (policy.provenance !== true || policy.sign === null) return null
  const {selection} = entry
  return {
    signer: policy.sign,
    source: {reference: entry.source, digest: (selection.kind === 'whole' ? entry.sourceDigest : (selection.indexDigest ?? entry.sourceDigest)) as Digest},
    selection:
      selection.kind === 'whole'
        ? {kind: 'whole'}
        : selection.kind === 'platform'
          ? {kind: 'platform', platform: selection.platform}
          : {kind: 'platforms', platforms: selection.platforms},
    policy: {
      verify: policy.verify,
      keys: policy.keys.map((k) => k.fingerprint),
      identities: policy.identities,
      trustedRoot: policy.trustedRoot.kind === 'file' ? {kind: 'file', sha256: policy.trustedRoot.sha256} : {kind: 'public-good'},
    },
  }
}

function decodeCopy(entry: PlanEntry, stance: Stance): Omit<CopyStep, 'signatures'> {
  const targetRef = parseReference(entry.target)
  const sourceRef = parseReference(entry.sourceRepository)
  // plan/consistency.ts refuses such a target in a plan file; a plan built in memory is checked here.
  if (targetRef.tag === undefined) throw new BadReferenceError(entry.target, 'it names no tag to write', 'target reference')
  return {
    source: {registry: sourceRef.registry, repository: sourceRef.repository, name: entry.sourceRepository},
    target: {registry: targetRef.registry, repository: targetRef.repository, tag: targetRef.tag, name: entry.target},
    digest: entry.sourceDigest as Digest,
    content: decodeContent(entry.selection),
    looks: decodeLooks(entry, stance),
  }
}

function decodeContent(selection: PlanEntry['selection']): StepContent {
  if (selection.kind === 'whole') return {kind: 'whole'}
  if (selection.kind === 'platform') return {kind: 'platform', platform: selection.platform, index: selection.indexDigest as Digest | null}
  return {kind: 'platforms', platforms: selection.platforms, index: selection.indexDigest as Digest, digest: selection.digest as Digest}
}

function decodeLooks(entry: PlanEntry, stance: Stance): Looks {
  if (stance.planAge === 'just-made') return {kind: 'none'}
  if (stance.movedSources === 'allow') return {kind: 'target'}
  // A digest-pinned source needs no look: the pin is in the definition (and `apply --definition` checks it).
  const ref = parseReference(entry.source)
  if (ref.digest !== undefined || ref.tag === undefined) return {kind: 'target'}
  const {selection} = entry
  const recorded = selection.kind === 'whole' ? entry.sourceDigest : (selection.indexDigest ?? entry.sourceDigest)
  return {kind: 'target-and-source', tag: ref.tag, recorded: recorded as Digest}
}

async function decodeSignatures(policy: PlanEntry['signature']['policy'], trust: RecordedTrust): Promise<Omit<SignatureStep, 'provenance'>> {
  const step = {verify: policy.verify, copy: policy.copy, sign: policy.sign}
  if (policy.verify === 'skip' && policy.attestations.length === 0) return {...step, trust: {kind: 'none'}}
  try {
    return {...step, trust: {kind: 'resolved', input: await trust.resolve(policy)}}
  } catch (error) {
    return {...step, trust: {kind: 'unusable', error}}
  }
}
