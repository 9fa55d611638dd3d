/** The in-process runner stands in for `bun src/cli.ts`: the same output and exit code, and nothing left behind. */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {type CliRun, runCommandInProcess} from './run-command.ts'

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-run-command-'))
  await writeFile(join(dir, 'bad.yaml'), 'images: 5\n')
})
afterAll(() => rm(dir, {recursive: true, force: true}))

async function spawned(args: string[], cwd: string): Promise<CliRun> {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, '../../src/cli.ts'), ...args], {cwd, stdout: 'pipe', stderr: 'pipe'})
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return {stdout, stderr, exitCode}
}

/** oclif colours its errors when this test process is on a terminal (a spawned run writes to a pipe). */
const plain = (run: CliRun): CliRun => ({...run, stdout: Bun.stripANSI(run.stdout), stderr: Bun.stripANSI(run.stderr)})

describe('runCommandInProcess', () => {
  test.each([
    ['a usage error oclif renders (exactly one of two flags)', ['verify-blob', 'x', '--bundle', 'b']],
    ['--version', ['--version']],
    ['a user error, the file named relative to the cwd', ['plan', '-i', 'bad.yaml']],
  ])('prints and exits as the process does: %s', async (_, args) => {
    const before = {exitCode: process.exitCode ?? 0, cwd: process.cwd()}
    expect(plain(await runCommandInProcess(args, {cwd: dir}))).toEqual(await spawned(args, dir))
    // oclif sets process.exitCode when a command throws; the test process's own is left as it was.
    expect({exitCode: process.exitCode ?? 0, cwd: process.cwd()}).toEqual(before)
  })

  test('runs started together take turns, each with its own env and cwd, which are put back after', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'image-syncer-run-command-'))
    try {
      const env = {SYNCER_IMAGES_FILE: 'bad.yaml'}
      const [here, there] = await Promise.all([runCommandInProcess(['plan'], {cwd: dir, env}), runCommandInProcess(['plan'], {cwd: elsewhere, env})])
      expect(here.stderr).toContain('bad.yaml:1:')
      expect(here.stderr).not.toContain('no such file')
      expect(there.stderr).toContain('no such file')
      expect(process.env.SYNCER_IMAGES_FILE).toBeUndefined()
    } finally {
      await rm(elsewhere, {recursive: true, force: true})
    }
  })
})
