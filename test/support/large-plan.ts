/**
 * A large plan built in memory, for tests of what must hold at scale (the Markdown summary, the plan file
 * round trip) without registries: `count` entries over `repositories` source repositories, with every action,
 * signature failures and multi-platform entries among them, consistent as `plan` writes them.
 */
import {type Plan, type PlanEntry, PLAN_FORMAT_VERSION, summarize} from '../../src/plan/model.ts'

export const LARGE_PLAN_PREFIX = 'registry.example/mirror/'

/** A valid sha256 digest derived from `n`: distinct numbers give distinct digests. */
export function digestOf(n: number): string {
  return `sha256:${`${n.toString(16)}f`.padEnd(64, '0')}`
}

export interface LargePlanOptions {
  count: number
  repositories?: number
  /** Every how-many-th entry conflicts (0: none). */
  conflictEvery?: number
  /** Every how-many-th entry fails its signature check (0: none). */
  signatureFailureEvery?: number
}

export function largePlan({count, repositories = 50, conflictEvery = 500, signatureFailureEvery = 700}: LargePlanOptions): Plan {
  const entries = Array.from({length: count}, (_, i) => largeEntry(i, repositories, conflictEvery, signatureFailureEvery))
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    tool: {name: 'image-syncer', version: '0.1.0'},
    createdAt: '2026-11-30T12:00:00.000Z',
    definition: {path: 'many.yaml', sha256: digestOf(0)},
    targetRepoPrefix: LARGE_PLAN_PREFIX,
    entries,
    summary: summarize(entries),
    pulls: [{registry: 'docker.io', needed: entries.filter((e) => e.action === 'to-copy').length, limit: null, remaining: null}],
  }
}

function largeEntry(i: number, repositories: number, conflictEvery: number, signatureFailureEvery: number): PlanEntry {
  const repository = `team${i % 7}/app${i % repositories}`
  const digest = digestOf(i + 1)
  const conflict = conflictEvery > 0 && i % conflictEvery === conflictEvery - 1
  const action: PlanEntry['action'] = conflict ? 'conflicting-ID' : i % 3 === 0 ? 'already-present' : 'to-copy'
  const failed = signatureFailureEvery > 0 && i % signatureFailureEvery === signatureFailureEvery - 1
  const multi = i % 4 === 0
  return {
    source: `${repository}:v${i}`,
    sourceRepository: `docker.io/${repository}`,
    sourceDigest: digest,
    mediaType: multi ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json',
    platforms: multi ? ['linux/amd64', 'linux/arm64'] : ['linux/amd64'],
    selection: {kind: 'whole'},
    target: `${LARGE_PLAN_PREFIX}${repository}:v${i}`,
    action,
    targetDigest: action === 'to-copy' ? null : action === 'already-present' ? digest : digestOf(10_000_000 + i),
    signature: {
      policy: {
        verify: failed ? 'required' : 'if-present',
        keys: [],
        identities: [],
        trustedRoot: {kind: 'public-good'},
        copy: true,
        sign: null,
        attestations: [],
      },
      status: failed ? 'failed' : 'unsigned',
      signers: [],
      found: 0,
      reasons: failed ? ['no signature found, and the policy requires one'] : [],
      attestations: [],
    },
  }
}
