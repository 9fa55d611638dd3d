/**
 * File access for a layout directory that may have come from anywhere (a tar from outside an air gap, a USB
 * disk): every read goes through `openInside`, which refuses a path whose real location is outside the layout
 * (a symlink to /etc/shadow named like a blob), opens without following a last-moment symlink swap, and
 * accepts only regular files (a FIFO named like a blob would otherwise block a read forever).
 *
 * Writes are atomic: content goes to a temporary file in the destination's directory, is fsynced, then renamed
 * (or hard-linked, when an existing file must not be replaced), and the directory is fsynced so the new name
 * survives a crash too.
 */
import {constants} from 'node:fs'
import {type FileHandle, link, lstat, mkdir, open, realpath, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join, relative, sep} from 'node:path'
import {readOpenFile} from '../../files/read.ts'
import {type Digest, digestAlgorithm} from '../../ref/digest.ts'
import {LayoutError} from '../layout-errors.ts'

/** `blobs/<alg>/<hex>` under the layout root (spec: image-layout.md, "Blobs"). */
export function blobPath(root: string, digest: Digest): string {
  return join(root, 'blobs', digestAlgorithm(digest), digest.slice(digest.indexOf(':') + 1))
}

/**
 * The real path of `path`, which must lie inside `root` (itself a real path); null when nothing is there
 * (a dangling symlink counts as nothing). Anything resolving outside is refused, whatever it points at.
 *
 * The directory is resolved, not the file: writers replace index.json (and blobs) by rename, and Bun's realpath
 * of a file being renamed over fails with ENOENT now and then, which would read as "absent". A rename never
 * makes a directory or an lstat of the name miss, so only a file that is itself a symlink is resolved whole.
 */
export async function realInside(root: string, path: string): Promise<string | null> {
  if (path === root) return root
  const dir = await resolveInside(root, dirname(path))
  if (dir === null) return null
  const named = join(dir, basename(path))
  try {
    if (!(await lstat(named)).isSymbolicLink()) return named
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null
    throw err
  }
  return resolveInside(root, named)
}

async function resolveInside(root: string, path: string): Promise<string | null> {
  let real: string
  try {
    real = await realpath(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null
    if (errnoCode(err) === 'ELOOP') throw new LayoutError('OUTSIDE_LAYOUT', path, `${path} is a symlink loop: refusing to follow it`)
    throw err
  }
  if (real !== root && !real.startsWith(root + sep)) {
    throw new LayoutError('OUTSIDE_LAYOUT', path, `${path} leads to ${real}, outside the layout ${root}: refusing to follow it`)
  }
  return real
}

export interface OpenFile {
  handle: FileHandle
  size: number
}

/**
 * Opens a regular file inside the layout for reading; null when absent. O_NOFOLLOW makes a symlink swapped in
 * after the realpath check fail instead of being followed; O_NONBLOCK keeps a FIFO from blocking the open.
 */
export async function openInside(root: string, path: string): Promise<OpenFile | null> {
  const real = await realInside(root, path)
  if (real === null) return null
  let handle: FileHandle
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    if (errnoCode(err) === 'ELOOP') throw new LayoutError('OUTSIDE_LAYOUT', path, `${path} was replaced by a symlink while being opened: refusing to follow it`)
    if (errnoCode(err) === 'EISDIR') throw notAFile(path)
    throw err
  }
  const stats = await handle.stat()
  if (!stats.isFile()) {
    await handle.close()
    throw notAFile(path)
  }
  return {handle, size: stats.size}
}

function notAFile(path: string): LayoutError {
  return new LayoutError('NOT_A_FILE', path, `${path} is not a regular file`)
}

/** Whether a regular file is at `path` inside the layout, and its size; null when absent. */
export async function sizeInside(root: string, path: string): Promise<number | null> {
  const file = await openInside(root, path)
  if (file === null) return null
  await file.handle.close()
  return file.size
}

/**
 * Reads a whole file of at most `limit` bytes; null when absent. The limit is checked on the size before
 * reading and again while reading, since a file can grow between the two.
 */
export async function readInside(root: string, path: string, limit: number, what: string): Promise<Uint8Array | null> {
  const file = await openInside(root, path)
  if (file === null) return null
  const tooLarge = () => new LayoutError('TOO_LARGE', path, `${path} is larger than ${limit} bytes, the most we accept for ${what}`)
  try {
    if (file.size > limit) throw tooLarge()
    return new Uint8Array(await readOpenFile(file.handle, limit, tooLarge))
  } finally {
    await file.handle.close()
  }
}

/** A temporary name next to `path`, hidden, unique per writer, so concurrent writers never share one. */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`)
}

/** How an atomic write treats a file already at the destination. */
export type WriteMode = 'replace' | 'keep-existing'

/**
 * Writes `bytes` to `path` atomically. `replace` renames over what is there (index.json); `keep-existing`
 * hard-links, which fails when the name exists, so a file another writer created first wins (oci-layout).
 * Returns whether our bytes are now at `path`; `aborted` when `beforeCommit` (run after the fsync, just before
 * the rename) said no.
 */
export async function writeAtomic(
  path: string,
  bytes: Uint8Array,
  mode: WriteMode,
  beforeCommit?: () => Promise<boolean>,
): Promise<'written' | 'exists' | 'aborted'> {
  const temp = tempPathFor(path)
  try {
    const handle = await open(temp, 'wx', 0o644)
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (beforeCommit && !(await beforeCommit())) return 'aborted'
    if (mode === 'replace') {
      await rename(temp, path)
    } else {
      try {
        await link(temp, path)
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') return 'exists'
        throw err
      }
    }
    await syncDirectory(dirname(path))
    return 'written'
  } finally {
    await unlink(temp).catch(() => undefined)
  }
}

/** fsync of a directory, so a rename into it is durable. Best effort: some file systems refuse it. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // EINVAL/EISDIR on file systems without directory fsync: the rename itself is still atomic.
  }
}

/**
 * mkdir -p of `dir` under `root`, one level at a time, checking each level is still inside the layout before
 * creating anything beneath it: a `blobs` symlink to /etc must not get a `sha256` directory created in /etc.
 */
export async function ensureDirectoryInside(root: string, dir: string): Promise<string> {
  const parts = relative(root, dir)
    .split(sep)
    .filter((part) => part !== '')
  let current = root
  for (const part of parts) {
    current = join(current, part)
    if ((await realInside(root, current)) !== null) continue
    try {
      await mkdir(current)
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err
    }
    await realInside(root, current)
  }
  const real = await realInside(root, dir)
  if (real === null) throw new LayoutError('NOT_A_LAYOUT', dir, `${dir} could not be created`)
  return real
}

/** The errno code of a Node/Bun file-system error, or null for anything else. */
export function errnoCode(err: unknown): string | null {
  const code = (err as {code?: unknown} | null)?.code
  return typeof code === 'string' ? code : null
}
