/**
 * The release build re-checks the runtime it takes from its cache on every build, on one platform (linux-x64)
 * and with a cache of its own (--cache), so the real build's checks are what is tested, at a sixth of the cost.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {existsSync} from 'node:fs'
import {appendFile, mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

setDefaultTimeout(300_000)

const ROOT = join(import.meta.dir, '../..')
let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'image-syncer-release-cache-'))
})
afterAll(async () => {
  if (work) await rm(work, {recursive: true, force: true})
})

const build = async (out: string) => {
  const child = Bun.spawn([process.execPath, '.ci/release.ts', '--out', out, '--targets', 'linux-x64', '--cache', join(work, 'cache')], {
    cwd: ROOT,
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return {exitCode, stdout, stderr}
}

describe('the runtime cache of the release build', () => {
  test('bytes planted in the cache after the first build are refused by the next one, in one sentence', async () => {
    const first = await build(join(work, 'first'))
    expect(first.stderr).toBe('')
    expect(first.exitCode).toBe(0)
    const binary = (await readdir(join(work, 'first'))).find((f) => f.endsWith('-linux-x64'))!
    expect(Bun.spawnSync([join(work, 'first', binary), '--version']).stdout.toString()).toStartWith('image-syncer/')
    // Whatever the cache keeps (archive or unpacked runtime), every file of it now carries planted bytes.
    const files = (await readdir(join(work, 'cache'), {recursive: true, withFileTypes: true})).filter((f) => f.isFile())
    expect(files.length).toBeGreaterThan(0)
    for (const f of files) await appendFile(join(f.parentPath, f.name), 'planted')
    const second = await build(join(work, 'second'))
    expect(second.exitCode).toBe(1)
    expect(second.stderr).toMatch(
      /^release: \S+\/@oven\+bun-linux-x64-[\d.]+\.tgz is not @oven\/bun-linux-x64@[\d.]+: its sha512 differs from the integrity in package-lock\.json, so the release is not built with it \(delete the file to fetch it again\)\.\n$/,
    )
    expect(existsSync(join(work, 'second', binary))).toBe(false)
  })
})
