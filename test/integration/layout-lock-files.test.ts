/**
 * `index.json.lock` is a file anyone who can write the layout can plant (issue 16). Reading who holds it must
 * not follow a symlink (to /dev/zero, memory grows without bound), block on a FIFO (apply hangs forever,
 * whatever the 30 s limit says), or read without a bound: each is refused at once with one sentence naming the
 * file. Every test is bounded, and a FIFO a regressed reader blocks on is unblocked, so nothing hangs.
 */
import {afterAll, describe, expect, test} from 'bun:test'
import {constants} from 'node:fs'
import {open, symlink, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {LayoutError} from '../../src/registry/layout-errors.ts'
import {updateIndex} from '../../src/registry/layout/index-file.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {rejectedWith} from '../support/errors.ts'
import {tempDir} from '../support/layout.ts'
import {testPace} from '../support/pace.ts'

const BOUND_MS = 3_000
const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

async function layoutWithLock(): Promise<{root: string; lock: string; dir: string}> {
  const {dir, cleanup} = await tempDir('lock-files')
  cleanups.push(cleanup)
  const layout = await openLayout(join(dir, 'repo'), {create: true, pace: testPace()})
  return {root: layout.root, lock: join(layout.root, 'index.json.lock'), dir}
}

/** A write of index.json, waiting at most 300 ms for a live lock (on the wall clock, pauses not waited). */
const write = (root: string) => updateIndex(root, () => ({next: null, result: null}), {pace: testPace(), waitMs: 300})

/** The lock of a process that no longer exists on this host: a reader that follows the file breaks it. */
async function deadOwner(): Promise<string> {
  const dead = Bun.spawn(['true'])
  await dead.exited
  return JSON.stringify({pid: dead.pid, host: hostname(), nonce: 'planted', since: '2026-01-01T00:00:00Z'})
}

describe('index.json.lock that is not a lock file', () => {
  test(
    'a FIFO is refused at once instead of blocking the writer',
    async () => {
      const {root, lock} = await layoutWithLock()
      expect(Bun.spawnSync(['mkfifo', lock]).exitCode).toBe(0)
      let timer: Timer | undefined
      const bound = new Promise<'blocked'>((done) => (timer = setTimeout(() => done('blocked'), BOUND_MS - 1_000)))
      const outcome = await Promise.race([
        write(root).then(
          () => null,
          (err: unknown) => err,
        ),
        bound,
      ])
      clearTimeout(timer)
      if (outcome === 'blocked') {
        // A reader blocked in open() of the FIFO is released by a writer end opening and closing.
        await (await open(lock, constants.O_RDWR | constants.O_NONBLOCK)).close()
      }
      expect(outcome).toBeInstanceOf(LayoutError)
      expect((outcome as LayoutError).code).toBe('NOT_A_FILE')
      expect((outcome as LayoutError).message).toBe(
        `${lock} is not a regular file, so not a lock image-syncer wrote: remove it if no writer is using this layout`,
      )
    },
    BOUND_MS,
  )

  test(
    'a symlink is not followed, even to a lock that could be broken',
    async () => {
      const {root, lock, dir} = await layoutWithLock()
      await writeFile(join(dir, 'planted.json'), await deadOwner())
      await symlink(join(dir, 'planted.json'), lock)
      const err = await rejectedWith(LayoutError, write(root))
      expect(err.code).toBe('NOT_A_FILE')
      expect(err.message).toBe(`${lock} is a symlink, so not a lock image-syncer wrote: remove it if no writer is using this layout`)
    },
    BOUND_MS,
  )

  test(
    'a lock file larger than any lock is refused, not read through',
    async () => {
      const {root, lock} = await layoutWithLock()
      // Valid JSON, padded past the bound: read whole, it would name a dead owner and be broken.
      await writeFile(lock, (await deadOwner()) + ' '.repeat(1024 * 1024))
      const err = await rejectedWith(LayoutError, write(root))
      expect(err.code).toBe('TOO_LARGE')
      expect(err.message).toBe(`${lock} is larger than 4096 bytes, so not a lock image-syncer wrote: remove it if no writer is using this layout`)
    },
    BOUND_MS,
  )
})
