/**
 * Readers of a layout while other writers rename over its files (issue 15): index.json is replaced by rename
 * on every tag write, and a reader must always see the old file or the new one, never "absent". Bun's realpath
 * of a file can fail with ENOENT while a rename lands on it, which the store took as "index.json has
 * disappeared". Several writers replace index.json as fast as they can while readers resolve and read it; the
 * run is bounded (count and time) and stops at the first failure.
 */
import {afterAll, describe, expect, test} from 'bun:test'
import {rename, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {LayoutError} from '../../src/registry/layout-errors.ts'
import {sizeInside} from '../../src/registry/layout/files.ts'
import {indexPath} from '../../src/registry/layout/index-file.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {tempDir} from '../support/layout.ts'
import {testPace} from '../support/pace.ts'

const WRITERS = 4
const READERS = 2
/** Before the fix, the first read seen as absent came within 9 to 64 reads (each resolves two files); a loaded machine ends on time. */
const READS = 1_000
const MAX_MS = 8_000

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

describe('a layout read while other writers rename over its files', () => {
  test('index.json is never seen as absent, and its size is always there', async () => {
    const {dir, cleanup} = await tempDir('rename-race')
    cleanups.push(cleanup)
    const layout = await openLayout(join(dir, 'repo'), {create: true, pace: testPace()})
    const path = indexPath(layout.root)
    const bytes = new TextEncoder().encode(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: []}))
    const deadline = Date.now() + MAX_MS
    let reads = 0
    const failures: string[] = []
    const running = () => reads < READS && failures.length === 0 && Date.now() < deadline
    // The rename writeAtomic makes, without its fsyncs, so that as many renames as possible land during reads.
    const writers = Array.from({length: WRITERS}, async (_, w) => {
      for (let i = 0; running(); i++) {
        const temp = join(layout.root, `.index.json.${w}.${i}.tmp`)
        await writeFile(temp, bytes)
        await rename(temp, path)
      }
    })
    const readers = Array.from({length: READERS}, async () => {
      while (running()) {
        reads++
        try {
          if ((await sizeInside(layout.root, path)) === null) failures.push(`read ${reads}: ${path} seen as absent`)
          await layout.listTags()
        } catch (err) {
          failures.push(`read ${reads}: ${err instanceof LayoutError ? `${err.code}: ${err.message}` : String(err)}`)
        }
      }
    })
    await Promise.all([...writers, ...readers])
    expect(failures.slice(0, 1)).toStrictEqual([])
    // Enough reads happened for the race to have shown (a slow machine ends on time, not on count).
    expect(reads).toBeGreaterThan(200)
  }, 30_000)
})
