/**
 * A layout's `index.json`: the entry points of the layout (tagged manifests, and untagged referrers so the
 * referrers fallback can find them). Read without a lock (it is only ever replaced by rename); changed only by
 * `updateIndex`, which re-reads it under `index.json.lock`, so concurrent writers (other processes included)
 * each see the other's entries and none is lost.
 */
import {join} from 'node:path'
import Value from 'typebox/value'
import {type Descriptor, type Index, IndexSchema} from '../../oci/manifest.ts'
import {MediaType} from '../../oci/media-types.ts'
import {digestProblem} from '../../ref/digest.ts'
import {LayoutError} from '../layout-errors.ts'
import {readInside, writeAtomic} from './files.ts'
import {type LockOptions, withLock} from './lock.ts'

/** The annotation that names a tag in index.json (image-spec annotations.md). */
export const REF_NAME = 'org.opencontainers.image.ref.name'

/**
 * index.json holds one entry per tag, ~300 bytes each: 32 MiB is room for ~100,000 tags, and refuses a file
 * that would only be there to exhaust memory.
 */
const MAX_INDEX_BYTES = 32 * 1024 * 1024

export function indexPath(root: string): string {
  return join(root, 'index.json')
}

export function emptyIndex(): Index {
  return {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}
}

/** index.json, validated; null when the file does not exist (the caller decides whether that is an error). */
export async function readIndex(root: string): Promise<Index | null> {
  const path = indexPath(root)
  const bytes = await readInside(root, path, MAX_INDEX_BYTES, 'an index.json')
  return bytes === null ? null : parseIndexFile(bytes, path)
}

/** Parses index.json bytes; every way they can be wrong is one sentence naming `path`. */
function parseIndexFile(bytes: Uint8Array, path: string): Index {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new LayoutError('INVALID_INDEX', path, `${path} is not valid JSON`)
  }
  if (!Value.Check(IndexSchema, json)) {
    const first = [...Value.Errors(IndexSchema, json)][0]
    const where = first ? ` (at ${first.instancePath || '/'}: ${first.message})` : ''
    throw new LayoutError('INVALID_INDEX', path, `${path} is not an OCI image index${where}`)
  }
  json.manifests.forEach((descriptor, i) => {
    const problem = digestProblem(descriptor.digest)
    if (problem !== null) throw new LayoutError('INVALID_INDEX', path, `${path} lists an invalid digest at /manifests/${i}: ${problem}`)
  })
  return json
}

/** The tag an entry carries, or null for an untagged entry. */
export function tagOf(descriptor: Descriptor): string | null {
  return descriptor.annotations?.[REF_NAME] ?? null
}

/** What a change to index.json decided: the new index to write (null: leave it as it is) and a result. */
export interface IndexChange<T> {
  next: Index | null
  result: T
}

/** Rounds of updateIndex that lost their lock before committing (each after a stale-lock break) before we give up. */
const UPDATE_ATTEMPTS = 5

/**
 * Read-modify-write of index.json under the lock: re-read, let `change` decide, write to a temporary file,
 * fsync, and rename only if the lock still names us (another waiter may have judged us stale and broken it);
 * otherwise start over. `change` may therefore run more than once, and must be a pure function of the index.
 */
export async function updateIndex<T>(root: string, change: (index: Index) => IndexChange<T>, options: LockOptions): Promise<T> {
  const path = indexPath(root)
  for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
    const outcome = await withLock(
      `${path}.lock`,
      async (stillHeld) => {
        const current = (await readIndex(root)) ?? emptyIndex()
        const {next, result} = change(current)
        if (next === null) return {result}
        const bytes = new TextEncoder().encode(JSON.stringify(next))
        return (await writeAtomic(path, bytes, 'replace', stillHeld)) === 'aborted' ? null : {result}
      },
      options,
    )
    if (outcome !== null) return outcome.result
  }
  throw new LayoutError(
    'LOCK_TIMEOUT',
    `${path}.lock`,
    `${path}.lock was taken from us ${UPDATE_ATTEMPTS} times before ${path} could be written: is a clock or pid namespace shared oddly between writers?`,
  )
}
