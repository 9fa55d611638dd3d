/**
 * The writer lock of a layout's `index.json`: `index.json.lock`, created exclusively (O_CREAT|O_EXCL), holding
 * who took it. Readers never lock: index.json is only ever replaced by rename, so they see the old or the new
 * file, never half of one. Writers hold the lock for one read-modify-write (milliseconds), so waiting is short.
 *
 * Stale locks: a writer that dies inside its critical section leaves the file behind.
 *   - Same host, and its pid no longer exists: the lock is stale and is broken at once (renamed aside, checked
 *     to be the very lock judged stale, then removed).
 *   - Anything else (a live pid, another host sharing the directory over NFS, a file not yet written): we wait
 *     with bounded backoff and then fail with a sentence that says which file to remove if no writer runs.
 *     We never break a lock by age alone: a slow writer on another machine would then lose its update.
 * A pid reused by an unrelated process looks alive; that case ends in the same clear error, never in a lost
 * update. Before committing, a holder checks that the lock still names it (`stillHeld`), which narrows the
 * window in which two writers could both believe they hold it after a concurrent stale break.
 */
import {hostname} from 'node:os'
import {constants} from 'node:fs'
import {type FileHandle, link, open, rename, unlink} from 'node:fs/promises'
import {readOpenFile} from '../../files/read.ts'
import {backoff, type Pace, type RetryPolicy} from '../../transport/retry.ts'
import {LayoutError} from '../layout-errors.ts'
import {errnoCode} from './files.ts'

/** How long a writer waits for a live lock before giving up. */
const LOCK_WAIT_MS = 30_000
/**
 * Pauses between attempts: from 2 ms, doubled each time up to 100 ms, with the transport's jitter so two waiters
 * do not step in turn. Attempts are bounded by LOCK_WAIT_MS, not by a count. A policy of its own (a lock is held
 * for milliseconds, a registry may need seconds), waited out on the run's pace.
 */
const LOCK_BACKOFF: RetryPolicy = {maxAttempts: Infinity, baseDelayMs: 2, maxDelayMs: 100}

export interface LockOwner {
  pid: number
  host: string
  /** Unique per acquisition, so a lock is recognised as ours even if our pid was reused. */
  nonce: string
  since: string
}

export interface LockOptions {
  /** The run's pause and clock: the backoff is slept on it, and the wait measured by it. */
  pace: Pace
  waitMs?: number
}

/**
 * Runs `body` holding `lockPath`. `stillHeld` tells the body whether the lock file still names it, to check
 * just before an irreversible step.
 */
export async function withLock<T>(lockPath: string, body: (stillHeld: () => Promise<boolean>) => Promise<T>, options: LockOptions): Promise<T> {
  const owner = await acquire(lockPath, options.pace, options.waitMs ?? LOCK_WAIT_MS)
  const stillHeld = async () => (await readOwner(lockPath))?.nonce === owner.nonce
  try {
    return await body(stillHeld)
  } finally {
    // Only our own lock is removed: after a stale break by someone else, the file may be theirs now.
    if (await stillHeld().catch(() => false)) await unlink(lockPath).catch(() => undefined)
  }
}

async function acquire(lockPath: string, pace: Pace, waitMs: number): Promise<LockOwner> {
  const owner: LockOwner = {pid: process.pid, host: hostname(), nonce: crypto.randomUUID(), since: new Date(pace.now()).toISOString()}
  const started = pace.now()
  for (let attempt = 1; ; attempt++) {
    if (await tryCreate(lockPath, owner)) return owner
    const holder = await readOwner(lockPath)
    if (holder !== null && isStale(holder)) {
      await breakStale(lockPath, holder)
      continue
    }
    if (pace.now() - started >= waitMs) {
      const who = holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}` : 'a writer that has not recorded itself'
      throw new LayoutError(
        'LOCK_TIMEOUT',
        lockPath,
        `${lockPath} has been held by ${who} for more than ${Math.round(waitMs / 1000)} s: if no image-syncer or other writer is using this layout, remove the file`,
      )
    }
    await backoff(pace, LOCK_BACKOFF, attempt)
  }
}

/** O_EXCL create; false when the lock exists. The owner is written and synced before anyone can judge it. */
async function tryCreate(lockPath: string, owner: LockOwner): Promise<boolean> {
  let handle: FileHandle
  try {
    handle = await open(lockPath, 'wx', 0o644)
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false
    throw err
  }
  try {
    await handle.writeFile(JSON.stringify(owner))
    await handle.sync()
  } finally {
    await handle.close()
  }
  return true
}

/** A lock we write is ~150 bytes of JSON; a bigger file was not written by us. */
const MAX_LOCK_BYTES = 4096

/**
 * The lock's owner; null when absent, or unreadable (being written right now: treated as live). The file is
 * anyone's to plant, so it is opened without following a symlink (to /dev/zero, say) and without blocking (a
 * FIFO), must be a regular file, and is read to a bound; anything else is refused at once, naming the file.
 */
async function readOwner(lockPath: string): Promise<LockOwner | null> {
  const bytes = await readLockFile(lockPath)
  if (bytes === null) return null
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LockOwner>
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.nonce !== 'string') return null
    return {pid: value.pid, host: value.host, nonce: value.nonce, since: String(value.since ?? '')}
  } catch {
    return null
  }
}

async function readLockFile(lockPath: string): Promise<Uint8Array | null> {
  const notOurs = (code: 'NOT_A_FILE' | 'TOO_LARGE', what: string) =>
    new LayoutError(code, lockPath, `${lockPath} ${what}, so not a lock image-syncer wrote: remove it if no writer is using this layout`)
  let handle: FileHandle
  try {
    handle = await open(lockPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    if (errnoCode(err) === 'ELOOP') throw notOurs('NOT_A_FILE', 'is a symlink')
    // Unreadable for another reason (permissions): like a lock being written, it is waited for, then reported.
    return null
  }
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) throw notOurs('NOT_A_FILE', 'is not a regular file')
    const tooLarge = () => notOurs('TOO_LARGE', `is larger than ${MAX_LOCK_BYTES} bytes`)
    if (stats.size > MAX_LOCK_BYTES) throw tooLarge()
    return await readOpenFile(handle, MAX_LOCK_BYTES, tooLarge)
  } finally {
    await handle.close().catch(() => undefined)
  }
}

/** A lock whose holder we can prove dead: same host, and no process has its pid. */
function isStale(holder: LockOwner): boolean {
  if (holder.host !== hostname()) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (err) {
    // EPERM: a process with that pid exists (another user's); only ESRCH proves the holder is gone.
    return errnoCode(err) === 'ESRCH'
  }
}

/**
 * Removes a stale lock without removing a fresh one: rename it to a private name (only one breaker wins the
 * rename), and delete it only if it is the lock judged stale. If another breaker got there first and a live
 * writer re-created the lock in between, we moved the live one: put it back unless a newer one exists.
 */
async function breakStale(lockPath: string, judged: LockOwner): Promise<void> {
  const aside = `${lockPath}.${crypto.randomUUID()}.stale`
  try {
    await rename(lockPath, aside)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return
    throw err
  }
  const moved = await readOwner(aside)
  if (moved !== null && moved.nonce !== judged.nonce) {
    await link(aside, lockPath).catch(() => undefined)
  }
  await unlink(aside).catch(() => undefined)
}
