/** What planning saw at the registries for one entry, before any decision: the input of the pure builder. */
import type {Descriptor} from '../oci/manifest.ts'
import type {Platform} from '../oci/platform.ts'
import type {Digest} from '../ref/digest.ts'
import type {CandidateVerdict} from '../signatures/types.ts'
import type {PolicyRecord} from './signature-record.ts'

export type SourceContent =
  /** An index's children, and its own annotations (a subset index keeps them). */
  | {kind: 'index'; manifests: Descriptor[]; annotations?: Record<string, string>}
  /**
   * A single manifest; `platform` comes from its config blob, null when the config does not say; `bytes` is
   * the sum of the sizes it lists for its distinct stored blobs (config and layers).
   */
  | {kind: 'image'; platform: Platform | null; bytes: number}
  /**
   * A single manifest that is no container image (a Helm chart, any OCI artifact): `artifactType` is its
   * `artifactType` field or its config's media type (oci/manifest.ts artifactTypeOf). It has no platform.
   */
  | {kind: 'artifact'; artifactType: string; bytes: number}

export type Observation =
  | {
      kind: 'observed'
      source: {digest: Digest; mediaType: string; content: SourceContent}
      /** The target tag's digest, or null when the tag does not exist. */
      targetDigest: Digest | null
      /**
       * The entry's policy as recorded, the verdict on each candidate found (none when nothing is checked), and
       * per required attestation (in policy order) the verdicts on the candidates of its type, judged with its trust.
       */
      signatures: {policy: PolicyRecord; verdicts: CandidateVerdict[]; attestations: Array<{predicateType: string; verdicts: CandidateVerdict[]}>}
      /**
       * Manifest GETs apply makes at the source for signatures if it copies the entry (artifacts found there, and
       * the fallback index that listed referrers). Absent or 0 when the signatures were read at the target.
       */
      signaturePulls?: number
    }
  | {kind: 'unreachable'; reason: FailureReason; message: string}

/** Why an entry could not be observed; reports group by it. */
export type FailureReason = 'source-not-found' | 'auth' | 'network' | 'registry' | 'content'
