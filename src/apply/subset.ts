/**
 * The subset index of a `platforms` entry, as apply writes it: computed again from the source index (read by
 * the digest the plan recorded, so its bytes are verified) and the plan's platforms, and refused unless its
 * digest is the one the plan recorded. Apply writes exactly what the reviewer approved, or nothing.
 */
import {parseManifest} from '../oci/manifest.ts'
import {subsetIndex} from '../oci/subset-index.ts'
import type {Digest} from '../ref/digest.ts'
import {SyncerError} from '../ref/errors.ts'
import type {FetchedManifest} from '../registry/handle.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {keptPlatformManifests} from '../signatures/subset.ts'
import type {StepContent} from './step.ts'

type Subsetting = Extract<StepContent, {kind: 'platforms'}>

/** The subset index to write, and the platform manifests it keeps (whose signatures may vouch for it). */
export interface SubsetManifest {
  manifest: FetchedManifest
  kept: Digest[]
}

export async function subsetManifest(selection: Subsetting, source: RepositoryHandle, signal?: AbortSignal): Promise<SubsetManifest> {
  const index = await source.getManifest(selection.index, {signal})
  if (index.parsed.kind !== 'index') throw new SubsetError(`${selection.index} is not an index at the source any more, so no platforms can be picked out of it`)
  const subset = subsetIndex(index.mediaType, index.parsed.index, selection.platforms)
  if (subset.kind === 'missing')
    throw new SubsetError(`the source index ${selection.index} has no ${subset.missing.join(', ')} (it has ${subset.offered.join(', ')})`)
  if (subset.digest !== selection.digest) {
    throw new SubsetError(
      `the index of ${selection.platforms.join(', ')} computed from ${selection.index} is ${subset.digest}, not the planned ${selection.digest}: nothing was copied; plan again`,
    )
  }
  const manifest = {
    digest: subset.digest,
    mediaType: subset.mediaType,
    size: subset.bytes.length,
    bytes: subset.bytes,
    parsed: parseManifest(subset.bytes, subset.mediaType),
  }
  return {manifest, kept: keptPlatformManifests(selection.platforms, subset.kept)}
}

/** The recomputed index is not the planned one: a plan edited after review, or a tool version that writes it otherwise. */
class SubsetError extends SyncerError {
  override readonly name = 'SubsetError'
  readonly category = 'content' as const
  readonly code = 'SUBSET_INDEX_MISMATCH'
}
