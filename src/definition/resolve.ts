/**
 * The meaning of a schema-valid definition: each entry's source reference, what pins its content (a tag or a
 * digest), and its target tag under the prefix. Problems are collected for the whole file.
 */
import type {Digest} from '../ref/digest.ts'
import {BadReferenceError, formatReference, parseReference, type Reference} from '../ref/reference.ts'
import {formatTargetPrefix, parseTargetPrefix, targetReference} from '../ref/target.ts'
import type {SignaturePolicy} from '../signatures/types.ts'
import type {Problem} from './errors.ts'
import type {DefinitionFile} from './schema.ts'
import {type PolicyDraft, resolvePolicy} from './signatures.ts'

/** What decides an entry's content: the tag as it is now, or a digest the reviewer pinned. */
export type Pin = {kind: 'tag'; tag: string} | {kind: 'digest'; digest: Digest}

export interface DefinitionEntry {
  /** The source as written in the file, for reports. */
  source: string
  sourceRef: Reference
  pin: Pin
  target: Reference
  /** `amd64Only: true` copies the linux/amd64 manifest alone. */
  selection: {kind: 'whole'} | {kind: 'platform'; platform: 'linux/amd64'}
  signatures: SignaturePolicy
  line: number
}

/** An entry before its public key files are read. */
export interface EntryDraft extends Omit<DefinitionEntry, 'signatures'> {
  signatures: PolicyDraft
}

type Locate = (path: (string | number)[]) => Problem

export type Resolution =
  | {kind: 'resolved'; targetRepoPrefix: string; entries: EntryDraft[]}
  | {kind: 'invalid'; problems: Problem[]}

/** `images` entries that failed the schema are passed as null: skipped here, already reported. */
export function resolveEntries(
  file: {images: ReadonlyArray<DefinitionFile['images'][number] | null>; signatures?: DefinitionFile['signatures']},
  prefix: string | undefined,
  baseDir: string,
  locate: Locate,
): Resolution {
  const problems: Problem[] = []
  const problem = (path: (string | number)[], message: string) => problems.push({...locate(path), message})

  let targetPrefix: string | null = null
  if (prefix === undefined) {
    problem([], 'targetRepoPrefix is not set: add it to the file, or pass --target-repo-prefix / SYNCER_TARGET_REPO_PREFIX')
  } else {
    try {
      // Normalised (lower-case host, trailing '/'), so plans made with and without the slash compare equal.
      targetPrefix = formatTargetPrefix(parseTargetPrefix(prefix))
    } catch (err) {
      if (!(err instanceof BadReferenceError)) throw err
      problem(['targetRepoPrefix'], `targetRepoPrefix ${err.message}`)
    }
  }

  const entries: EntryDraft[] = []
  const byTarget = new Map<string, number>()
  file.images.forEach((image, i) => {
    if (image === null) return
    const line = locate(['images', i]).line
    let sourceRef: Reference
    try {
      sourceRef = parseReference(image.source)
    } catch (err) {
      if (!(err instanceof BadReferenceError)) throw err
      return problem(['images', i, 'source'], `source: ${err.message}`)
    }
    if (sourceRef.digest === undefined && sourceRef.tag === undefined) {
      // No implied `latest`: a mirror of a moving tag must be asked for by name.
      return problem(['images', i, 'source'], `source ${image.source} has neither a tag nor a digest: write the tag to mirror (e.g. ${image.source}:1.0)`)
    }
    const tag = image.tag ?? sourceRef.tag
    if (tag === undefined) {
      return problem(['images', i, 'source'], `sha256 digest detected, but the tag was not specified: add \`tag:\` to name the target tag of ${image.source}`)
    }
    if (targetPrefix === null) return
    let target: Reference
    try {
      target = targetReference(targetPrefix, sourceRef, tag)
    } catch (err) {
      if (!(err instanceof BadReferenceError)) throw err
      return problem(['images', i, image.tag !== undefined ? 'tag' : 'source'], err.message)
    }
    const targetText = formatReference(target)
    const earlier = byTarget.get(targetText)
    if (earlier !== undefined) {
      return problem(['images', i, 'source'], `${targetText} is also the target of the entry on line ${earlier}: two entries must not write the same target tag`)
    }
    byTarget.set(targetText, line)
    entries.push({
      source: image.source,
      sourceRef,
      // The source tag is read at the source; `tag:` only names the target.
      pin: sourceRef.digest ? {kind: 'digest', digest: sourceRef.digest} : {kind: 'tag', tag: sourceRef.tag!},
      target,
      selection: image.amd64Only ? {kind: 'platform', platform: 'linux/amd64'} : {kind: 'whole'},
      signatures: resolvePolicy(file.signatures, image.signatures, ['images', i], baseDir, locate, problems),
      line,
    })
  })
  if (problems.length || targetPrefix === null) return {kind: 'invalid', problems}
  return {kind: 'resolved', targetRepoPrefix: targetPrefix, entries}
}
