/**
 * index.json is one file that every tag write replaces: without the lock, two writers that read it at the
 * same time each write back their own version and one loses the other's tag. Here two separate processes
 * (not two promises: the lock must hold across processes) each add 50 tags to the same layout at once, and
 * all 100 must be there afterwards. Also the lock's own rules: a dead holder's lock is broken, a live one
 * is waited for and then reported with the file to remove.
 */
import {afterAll, describe, expect, test} from 'bun:test'
import {writeFileSync} from 'node:fs'
import {readdir, readFile, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {LayoutError} from '../../src/registry/layout-errors.ts'
import {updateIndex} from '../../src/registry/layout/index-file.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {rejectedWith} from '../support/errors.ts'
import {makeImage} from '../support/images.ts'
import {storeImage, tempDir} from '../support/layout.ts'
import {testPace} from '../support/pace.ts'

const TAGGER = join(import.meta.dir, '..', 'support', 'layout-tagger.ts')
const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

async function freshDir(): Promise<string> {
  const {dir, cleanup} = await tempDir('concurrency')
  cleanups.push(cleanup)
  return join(dir, 'repo')
}

describe('two processes writing one layout', () => {
  test('each adds 50 tags at the same time: all 100 are there', async () => {
    const dir = await freshDir()
    // Both open (and so create) the layout before the start time, then race on index.json.
    const startAt = String(Date.now() + 1500)
    const procs = ['a', 'b'].map((prefix) => Bun.spawn([process.execPath, TAGGER, dir, prefix, '50', startAt], {stdout: 'pipe', stderr: 'pipe'}))
    const results = await Promise.all(
      procs.map(async (p) => ({code: await p.exited, out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text()})),
    )
    for (const r of results) expect(r).toMatchObject({code: 0, out: 'done 50\n'})
    const layout = await openLayout(dir, {create: false, pace: testPace()})
    const want = ['a', 'b'].flatMap((prefix) => Array.from({length: 50}, (_, i) => `${prefix}-${i}`)).sort()
    expect(await layout.listTags()).toStrictEqual(want)
    // No temporary or lock file is left behind.
    expect((await readdir(dir)).sort()).toStrictEqual(['blobs', 'index.json', 'oci-layout'])
    expect((await readdir(join(dir, 'blobs', 'sha256'))).filter((name) => name.startsWith('.'))).toStrictEqual([])
  }, 60_000)
})

describe('index.json.lock', () => {
  test('a lock left by a process that no longer exists is broken', async () => {
    const dir = await freshDir()
    const layout = await openLayout(dir, {create: true, pace: testPace()})
    const dead = Bun.spawn(['true'])
    await dead.exited
    await writeFile(join(dir, 'index.json.lock'), JSON.stringify({pid: dead.pid, host: hostname(), nonce: 'gone', since: new Date().toISOString()}))
    expect(await storeImage(layout, makeImage({flavor: 'oci'}), 'v1')).toStrictEqual({kind: 'tagged'})
    expect(await layout.listTags()).toStrictEqual(['v1'])
    expect((await readdir(dir)).sort()).toStrictEqual(['blobs', 'index.json', 'oci-layout'])
  })

  test('a lock held by a live process is waited for, then reported with the file to remove', async () => {
    const dir = await freshDir()
    const layout = await openLayout(dir, {create: true, pace: testPace()})
    const lock = join(dir, 'index.json.lock')
    await writeFile(lock, JSON.stringify({pid: process.pid, host: hostname(), nonce: 'someone-else', since: '2026-01-01T00:00:00Z'}))
    // A clock that moves by the pauses: the 300 ms are waited out on it, at once.
    const pace = testPace({clock: 'paced'})
    const started = pace.now()
    const err = await rejectedWith(
      LayoutError,
      updateIndex(layout.root, () => ({next: null, result: null}), {pace, waitMs: 300}),
    )
    expect(pace.now() - started).toBeGreaterThanOrEqual(300)
    // Backoff from 2 ms up to 100 ms: many short pauses, none longer than the policy allows.
    expect(pace.sleeps.length).toBeGreaterThan(3)
    expect(Math.max(...pace.sleeps)).toBeLessThanOrEqual(100)
    expect(err.code).toBe('LOCK_TIMEOUT')
    expect(err.message).toContain(lock)
    expect(err.message).toContain(`pid ${process.pid}`)
    // The live holder's lock is still there: it was not ours to remove.
    expect(await Bun.file(lock).exists()).toBe(true)
  })

  test('a lock on another host is never broken by us', async () => {
    const dir = await freshDir()
    const layout = await openLayout(dir, {create: true, pace: testPace()})
    await writeFile(join(dir, 'index.json.lock'), JSON.stringify({pid: 1, host: `not-${hostname()}`, nonce: 'remote', since: '2026-01-01T00:00:00Z'}))
    expect(
      (
        await rejectedWith(
          LayoutError,
          updateIndex(layout.root, () => ({next: null, result: null}), {pace: testPace({clock: 'paced'}), waitMs: 100}),
        )
      ).code,
    ).toBe('LOCK_TIMEOUT')
  })

  test('a writer whose lock was broken under it does not commit, and starts over', async () => {
    const dir = await freshDir()
    const layout = await openLayout(dir, {create: true, pace: testPace()})
    const lock = join(dir, 'index.json.lock')
    let rounds = 0
    const result = await updateIndex(
      layout.root,
      (index) => {
        rounds++
        // The first round finds its lock replaced by another (dead) writer's, as after a concurrent stale break.
        if (rounds === 1) writeFileSync(lock, JSON.stringify({pid: 2 ** 22 + 1, host: hostname(), nonce: 'usurper', since: ''}))
        return {next: {...index, annotations: {round: String(rounds)}}, result: rounds}
      },
      {pace: testPace()},
    )
    expect(result).toBe(2)
    expect(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')).annotations).toStrictEqual({round: '2'})
    expect(await Bun.file(lock).exists()).toBe(false)
  })
})
