import {afterAll, describe, expect, test} from 'bun:test'
import {lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {writeFileAtomic} from './write.ts'

const dir = await mkdtemp(join(tmpdir(), 'image-syncer-write-'))
afterAll(() => rm(dir, {recursive: true, force: true}))

describe('writeFileAtomic', () => {
  test('a symlink planted at the old predictable temporary name is not followed', async () => {
    const victim = join(dir, 'victim.txt')
    await writeFile(victim, 'keep me\n')
    const path = join(dir, 'result.json')
    // `<path>.<pid>.tmp` was the temporary name: every worker of a shared volume could guess it (pid 1 in a pod).
    await symlink(victim, `${path}.${process.pid}.tmp`)
    await writeFileAtomic(path, '{"ours": true}\n')
    expect(await readFile(victim, 'utf8')).toBe('keep me\n')
    expect((await lstat(path)).isFile()).toBe(true)
    expect(await readFile(path, 'utf8')).toBe('{"ours": true}\n')
  })

  test('replaces an earlier file and leaves no temporary file behind', async () => {
    const sub = join(dir, 'again')
    const path = join(sub, 'plan.json')
    await writeFileAtomic(path, 'one\n')
    await writeFileAtomic(path, 'two\n')
    expect(await readFile(path, 'utf8')).toBe('two\n')
    expect(await readdir(sub)).toEqual(['plan.json'])
  })

  test('a failed rename removes the temporary file', async () => {
    const sub = join(dir, 'blocked')
    const path = join(sub, 'taken')
    // A non-empty directory at the destination: rename fails with EISDIR/ENOTEMPTY after the write.
    await writeFileAtomic(join(path, 'inside'), 'x')
    await expect(writeFileAtomic(path, 'y')).rejects.toThrow()
    expect(await readdir(sub)).toEqual(['taken'])
  })
})
