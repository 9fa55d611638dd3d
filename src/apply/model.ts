/** What apply reports: one outcome per plan entry, a summary, and progress events while it runs. */
import type {Digest} from '../ref/digest.ts'

export type EntryResult =
  | {kind: 'copied'}
  | {kind: 'already-present'}
  /** The target tag holds other content (now, or already at plan time): it was left untouched. */
  | {kind: 'conflict'; targetDigest: Digest}
  | {kind: 'failed'; message: string}

export interface BlobCounts {
  /** Streamed from the source and uploaded. */
  uploaded: number
  /** Mounted from another repository of the target registry: no bytes moved. */
  mounted: number
  /** Already in the target repository, or placed there by another entry (or manifest) of this run. */
  present: number
}

export interface EntryOutcome {
  source: string
  target: string
  sourceDigest: string
  result: EntryResult
  /** Bytes uploaded for this entry (a blob shared with another entry counts where it was uploaded). */
  bytes: number
  blobs: BlobCounts
  /** What happened about signatures; null when the entry was not copied. */
  signature: {
    status: 'verified' | 'unsigned' | 'failed' | 'skipped'
    copied: number
    signed: 'signed' | 'already-signed' | 'not-asked'
    /** With `provenance: true` only: whether this run attached the SLSA provenance or found ours there. */
    provenance?: 'attached' | 'already-attached'
  } | null
  durationMs: number
}

export interface ApplySummary {
  copied: number
  alreadyPresent: number
  conflicts: number
  failed: number
  bytes: number
}

export interface ApplyResult {
  entries: EntryOutcome[]
  summary: ApplySummary
  durationMs: number
  /** True when SIGINT/SIGTERM stopped the run; unfinished entries are reported as failed. */
  interrupted: boolean
}

export type ProgressEvent =
  | {kind: 'started'; entries: number}
  | {kind: 'entry-started'; target: string}
  | {kind: 'bytes'; bytes: number}
  | {kind: 'entry-finished'; outcome: EntryOutcome}

export function summarizeOutcomes(entries: readonly EntryOutcome[]): ApplySummary {
  const count = (kind: EntryResult['kind']) => entries.filter((e) => e.result.kind === kind).length
  return {
    copied: count('copied'),
    alreadyPresent: count('already-present'),
    conflicts: count('conflict'),
    failed: count('failed'),
    bytes: entries.reduce((sum, e) => sum + e.bytes, 0),
  }
}
