/**
 * The planner proper: a pure function from the definition and what was observed to a plan. No I/O, so every
 * rule here (the seed's "pin the index" rule, amd64Only, the three actions) is tested without a registry.
 */
import {formatPlatform, isUnknownPlatform} from '../oci/platform.ts'
import {subsetIndex} from '../oci/subset-index.ts'
import type {DefinitionEntry} from '../definition/resolve.ts'
import type {Digest} from '../ref/digest.ts'
import {formatReference} from '../ref/reference.ts'
import {abbreviate, printable} from '../ref/text.ts'
import {decideAttestation, decideSignatures, type SignatureDecision, withAttestations} from '../signatures/decide.ts'
import {keptPlatformManifests, subsetDecision} from '../signatures/subset.ts'
import type {Signer} from '../signatures/types.ts'
import type {SignatureRecord} from './signature-record.ts'
import {type Action, MAX_ARTIFACT_TYPE_CHARS, type Plan, type PlanEntry, PLAN_FORMAT_VERSION, type RuleRecord, summarize} from './model.ts'
import type {FailureReason, Observation, SourceContent} from './observation.ts'

type SourceIndex = Extract<SourceContent, {kind: 'index'}>
import {type PlatformFailure, pickSelection} from './select-platforms.ts'

export interface PlanMeta {
  tool: {name: string; version: string}
  createdAt: string
  definition: {path: string; sha256: string}
  targetRepoPrefix: string
  /** The tag rules as plan resolved them; the entries they expanded to point at them. */
  rules?: RuleRecord[]
}

export type FailureKind = FailureReason | 'single-platform-pin' | PlatformFailure

export interface EntryFailure {
  line: number
  source: string
  kind: FailureKind
  message: string
}

export type PlanResult = {kind: 'planned'; plan: Plan} | {kind: 'failed'; failures: EntryFailure[]}

/** What a source registry announced about its rate limit while we planned (see transport's RateLimit). */
export interface AnnouncedLimit {
  limit: number | null
  remaining: number | null
}

export function buildPlan(
  entries: readonly DefinitionEntry[],
  observations: readonly Observation[],
  meta: PlanMeta,
  limits: ReadonlyMap<string, AnnouncedLimit> = new Map(),
): PlanResult {
  if (entries.length !== observations.length) throw new Error(`buildPlan: ${entries.length} entries but ${observations.length} observations`)
  const planned: PlanEntry[] = []
  const failures: EntryFailure[] = []
  const needed = new Map(entries.map((e) => [e.sourceRef.registry, 0]))
  entries.forEach((entry, i) => {
    const observation = observations[i]!
    const result = planOneEntry(entry, observation)
    if (result.kind === 'failed') failures.push(result.failure)
    else {
      planned.push(result.entry)
      needed.set(entry.sourceRef.registry, needed.get(entry.sourceRef.registry)! + pullsOf(result.entry, observation))
    }
  })
  if (failures.length) return {kind: 'failed', failures}
  return {
    kind: 'planned',
    plan: {
      formatVersion: PLAN_FORMAT_VERSION,
      tool: meta.tool,
      createdAt: meta.createdAt,
      definition: {path: meta.definition.path, sha256: meta.definition.sha256},
      targetRepoPrefix: meta.targetRepoPrefix,
      entries: planned,
      summary: summarize(planned),
      pulls: [...needed]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([registry, n]) => ({registry, needed: n, limit: limits.get(registry)?.limit ?? null, remaining: limits.get(registry)?.remaining ?? null})),
      // Only when there are rules: a definition without them plans exactly as before.
      ...(meta.rules?.length ? {rules: meta.rules} : {}),
    },
  }
}

/**
 * The manifest GETs apply makes at the source for `entry`: none unless it copies; the signatures it verifies
 * again; and, unless the signature check fails first, the manifest and every child an index lists. A subset's
 * source index is read before its signatures are checked (they vouch for the manifests it keeps).
 */
function pullsOf(entry: PlanEntry, observation: Observation): number {
  if (entry.action !== 'to-copy' || observation.kind !== 'observed') return 0
  const signatures = observation.signaturePulls ?? 0
  if (entry.signature.status === 'failed') return signatures + (entry.selection.kind === 'platforms' ? 1 : 0)
  const content = observation.source.content
  const children =
    content.kind !== 'index'
      ? 0
      : entry.selection.kind === 'whole'
        ? content.manifests.length
        : entry.selection.kind === 'platforms'
          ? keptChildren(entry, content.manifests)
          : 0
  return signatures + 1 + children
}

/** A subset index's children: the source index is read (the `1` above), then each kept manifest. */
function keptChildren(entry: PlanEntry, manifests: SourceIndex['manifests']): number {
  if (entry.selection.kind !== 'platforms') return 0
  const subset = subsetIndex(entry.mediaType, {manifests}, entry.selection.platforms)
  return subset.kind === 'subset' ? subset.kept.length : 0
}

export type OneEntry = {kind: 'planned'; entry: PlanEntry} | {kind: 'failed'; failure: EntryFailure}

/**
 * One entry of the plan as buildPlan records it (in reading order), or why it cannot be planned. Pure and per
 * entry, so `sync` can start copying an entry as soon as it is observed, from exactly what the plan will hold.
 */
export function planOneEntry(entry: DefinitionEntry, observation: Observation): OneEntry {
  const result = planEntry(entry, observation)
  if ('kind' in result) return {kind: 'failed', failure: {line: entry.line, source: entry.source, ...result}}
  return {kind: 'planned', entry: inReadingOrder(result.entry)}
}

type EntryResult = {entry: PlanEntry} | {kind: FailureKind; message: string}

function planEntry(entry: DefinitionEntry, observation: Observation): EntryResult {
  if (observation.kind === 'unreachable') return {kind: observation.reason, message: observation.message}
  const {source, targetDigest} = observation
  const common = {
    source: entry.source,
    sourceRepository: `${entry.sourceRef.registry}/${entry.sourceRef.repository}`,
    target: formatReference(entry.target),
    ...(entry.targetPath !== undefined ? {targetPath: entry.targetPath} : {}),
    ...(entry.rule !== undefined ? {rule: entry.rule} : {}),
    targetDigest,
    signature: signatureRecord(observation.signatures, subsetSigned(entry, source)),
    // A single manifest is what the entry copies, whole or as the one platform asked for.
    ...(source.content.kind !== 'index' ? {bytes: source.content.bytes} : {}),
  }
  const content = source.content
  // The file's `platforms:` is a default for images; an artifact has none, so it is copied whole (an entry's own
  // platforms or amd64Only on an artifact still fail: that entry asked for what is not there).
  const selection =
    content.kind === 'artifact' && entry.selection.kind !== 'whole' && entry.selection.from === 'file' ? {kind: 'whole' as const} : entry.selection
  if (selection.kind === 'whole') {
    if (entry.pin.kind === 'digest' && content.kind === 'image') {
      // The seed's rule: a pinned digest must be the multi-platform index, or the copy silently loses platforms.
      // An artifact (a Helm chart) has no platforms to lose, so it may be pinned alone.
      const platform = content.platform ? ` (${formatPlatform(content.platform)})` : ''
      return {
        kind: 'single-platform-pin',
        message: `${entry.pin.digest} is a single-platform manifest${platform}, not a multi-platform index: it is a container image (its config is an image config), and copying it alone would leave out the image's other platforms; pin the index digest that the tag resolves to, or set amd64Only: true to copy this one manifest`,
      }
    }
    const platforms =
      content.kind === 'index'
        ? unique(content.manifests.filter((d) => !isUnknownPlatform(d.platform)).map((d) => formatPlatform(d.platform!)))
        : content.kind === 'image' && content.platform
          ? [formatPlatform(content.platform)]
          : []
    const artifact = content.kind === 'artifact' ? {artifactType: abbreviate(printable(content.artifactType), MAX_ARTIFACT_TYPE_CHARS)} : {}
    return {
      entry: {
        ...common,
        sourceDigest: source.digest,
        mediaType: source.mediaType,
        platforms,
        ...artifact,
        selection: {kind: 'whole'},
        action: decide(source.digest, targetDigest),
      },
    }
  }

  const picked = pickSelection(selection, source, entry.source)
  if (picked.kind !== 'picked') return picked
  return {entry: {...common, ...picked.picked, action: decide(picked.picked.sourceDigest as Digest, targetDigest)}}
}

/** Reasons and keyless identities quote registries and certificates: recorded printable, like everything in a plan. */
/** For a platform subset: the rule that its index or each kept manifest is signed (signatures/subset.ts). */
function subsetSigned(entry: DefinitionEntry, source: Extract<Observation, {kind: 'observed'}>['source']): (d: SignatureDecision) => SignatureDecision {
  if (entry.selection.kind !== 'platforms' || source.content.kind !== 'index') return (d) => d
  const kept = keptPlatformManifests(entry.selection.platforms, source.content.manifests)
  return (d) => subsetDecision(d, source.digest, kept)
}

function signatureRecord(
  {policy, verdicts, attestations}: Extract<Observation, {kind: 'observed'}>['signatures'],
  rule: (d: SignatureDecision) => SignatureDecision,
): SignatureRecord {
  const decided = attestations.map((a) => {
    const d = decideAttestation(a.predicateType, a.verdicts)
    return {...d, predicateType: printable(d.predicateType), signers: d.signers.map(printableSigner), reasons: d.reasons.map((r) => printable(r))}
  })
  const {status, signers, found, reasons} = withAttestations(rule(decideSignatures(policy, verdicts)), decided)
  return {policy, status, signers: signers.map(printableSigner), found, reasons: reasons.map((r) => printable(r)), attestations: decided}
}

function printableSigner(s: Signer): Signer {
  return s.kind === 'identity' ? {kind: s.kind, subject: printable(s.subject), issuer: printable(s.issuer)} : s
}

/** Fields in the order a reviewer reads them: what, from where, to where, what happens, signatures. */
function inReadingOrder(e: PlanEntry): PlanEntry {
  return {
    source: e.source,
    sourceRepository: e.sourceRepository,
    sourceDigest: e.sourceDigest,
    mediaType: e.mediaType,
    platforms: e.platforms,
    ...(e.artifactType !== undefined ? {artifactType: e.artifactType} : {}),
    selection: e.selection,
    ...(e.bytes !== undefined ? {bytes: e.bytes} : {}),
    target: e.target,
    ...(e.targetPath !== undefined ? {targetPath: e.targetPath} : {}),
    ...(e.rule !== undefined ? {rule: e.rule} : {}),
    action: e.action,
    targetDigest: e.targetDigest,
    signature: e.signature,
  }
}

function decide(id: Digest, targetDigest: Digest | null): Action {
  if (targetDigest === null) return 'to-copy'
  return targetDigest === id ? 'already-present' : 'conflicting-ID'
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}
