/**
 * The SLSA provenance v1 statement the mirror writes about a target digest (README "Provenance of mirrored
 * images" defines every field): where the digest came from, how it was selected, from which reviewed definition
 * and plan, and which source signers were verified under which policy. Pure: no I/O, no clock of its own.
 */
import type {Digest} from '../ref/digest.ts'
import type {Signer} from './types.ts'

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1'
/** This project's build type: a mirror copies bytes unchanged, it builds nothing. A URN: no page it must resolve to. */
export const MIRROR_BUILD_TYPE = 'urn:image-syncer:mirror:v1'
const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1'

/** What of the source the target digest is: all of it, one platform's manifest, or a new index of some platforms. */
export type ProvenanceSelection = {kind: 'whole'} | {kind: 'platform'; platform: string} | {kind: 'platforms'; platforms: string[]}

/** The source check apply made right before copying (or attesting an already-present digest). */
export interface SourceVerification {
  status: 'verified' | 'unsigned' | 'skipped'
  signers: Signer[]
  /** The policy as the plan recorded it, keys by fingerprint only. */
  policy: {
    verify: string
    keys: string[]
    identities: Array<{issuer: string; subject: {kind: 'exact'; value: string} | {kind: 'regexp'; pattern: string}}>
    trustedRoot: {kind: 'public-good'} | {kind: 'file'; sha256: string}
    attestations: Array<{predicateType: string; status: string}>
  }
}

/** Everything the statement says, gathered by apply from the plan file and the run. */
export interface ProvenanceFacts {
  target: {repository: string; reference: string; digest: Digest}
  source: {reference: string; repository: string; digest: Digest}
  selection: ProvenanceSelection
  definition: {path: string; sha256: Digest}
  plan: {sha256: Digest}
  verification: SourceVerification
  tool: {version: string}
  run: CiRun | null
  startedOn: string
  finishedOn: string
}

/** The CI run that applied the plan: GitHub Actions' workflow identity and run URL. */
export interface CiRun {
  /** `https://github.com/OWNER/REPO/.github/workflows/mirror.yml@refs/heads/main`: what a keyless certificate names. */
  workflow: string
  runURL: string
  repository: string
  commit: string
  event: string
}

/** The workflow run, when `GITHUB_ACTIONS=true` and the variables every run sets are there; otherwise null. */
export function ciRunFromEnv(env: Record<string, string | undefined>): CiRun | null {
  if (env.GITHUB_ACTIONS !== 'true') return null
  const server = env.GITHUB_SERVER_URL || 'https://github.com'
  const {GITHUB_REPOSITORY: repository, GITHUB_WORKFLOW_REF: workflowRef, GITHUB_RUN_ID: runId} = env
  if (!repository || !workflowRef || !runId) return null
  const attempt = env.GITHUB_RUN_ATTEMPT || '1'
  return {
    workflow: `${server}/${workflowRef}`,
    runURL: `${server}/${repository}/actions/runs/${runId}/attempts/${attempt}`,
    repository: `${server}/${repository}`,
    commit: env.GITHUB_SHA ?? '',
    event: env.GITHUB_EVENT_NAME ?? '',
  }
}

const hexOf = (digest: Digest) => {
  const [algorithm = 'sha256', hex = ''] = digest.split(':')
  return {[algorithm]: hex}
}

/** The in-toto Statement v1 with a SLSA provenance v1 predicate, as the JSON object that is signed. */
export function provenanceStatement(facts: ProvenanceFacts): Record<string, unknown> {
  const {run} = facts
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{name: facts.target.repository, digest: hexOf(facts.target.digest)}],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: MIRROR_BUILD_TYPE,
        externalParameters: {
          source: facts.source.reference,
          target: facts.target.reference,
          platforms: facts.selection,
          definition: {path: facts.definition.path, sha256: facts.definition.sha256},
          plan: {sha256: facts.plan.sha256},
          signaturePolicy: facts.verification.policy,
        },
        internalParameters: run === null ? {} : {github: {repository: run.repository, commit: run.commit, event: run.event}},
        resolvedDependencies: [
          {
            name: 'source',
            uri: `${facts.source.repository}@${facts.source.digest}`,
            digest: hexOf(facts.source.digest),
            annotations: {signatures: {status: facts.verification.status, signers: facts.verification.signers}},
          },
        ],
      },
      runDetails: {
        builder: {id: run?.workflow ?? MIRROR_BUILD_TYPE, version: {'image-syncer': facts.tool.version}},
        metadata: {...(run === null ? {} : {invocationId: run.runURL}), startedOn: facts.startedOn, finishedOn: facts.finishedOn},
      },
    },
  }
}

/** The source repository a verified provenance statement names (`resolvedDependencies[source].uri` before `@`). */
export function provenanceSource(statement: Record<string, unknown>): {repository: string; digest: string} | null {
  const predicate = statement['predicate'] as {buildDefinition?: {resolvedDependencies?: unknown}} | undefined
  const deps = predicate?.buildDefinition?.resolvedDependencies
  if (!Array.isArray(deps)) return null
  const source = deps.find((d: unknown) => (d as {name?: unknown} | null)?.name === 'source') as {uri?: unknown} | undefined
  if (typeof source?.uri !== 'string') return null
  const at = source.uri.lastIndexOf('@')
  return at <= 0 ? null : {repository: source.uri.slice(0, at), digest: source.uri.slice(at + 1)}
}
