import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {FileReadError, hashUserFile, readUserFile} from './read.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-read-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

const LIMITS = {what: 'key file', maxBytes: 1024}

async function refusal(path: string, limits = LIMITS): Promise<FileReadError> {
  const error = await readUserFile(path, limits).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(FileReadError)
  return error as FileReadError
}

describe('readUserFile', () => {
  test('reads a regular file up to the limit, to the byte', async () => {
    const path = join(dir, 'exact.pub')
    await writeFile(path, 'x'.repeat(1024))
    expect((await readUserFile(path, LIMITS)).toString()).toBe('x'.repeat(1024))
  })

  test('a file one byte over the limit is refused before it is read', async () => {
    const path = join(dir, 'big.pub')
    await writeFile(path, 'x'.repeat(1025))
    const error = await refusal(path)
    expect(error.code).toBe('TOO_LARGE')
    expect(error.message).toBe(`cannot read key file ${path}: it is 1025 bytes, more than the 1 KiB allowed`)
  })

  test('a file whose size says 0 but holds more (as /proc files do) is still bounded', async () => {
    const error = await refusal('/proc/self/status', {what: 'key file', maxBytes: 16})
    expect(error.code).toBe('TOO_LARGE')
    expect(error.message).toBe('cannot read key file /proc/self/status: it is more than the 16 bytes allowed')
  })

  test('/dev/zero is refused at once instead of read forever', async () => {
    const error = await refusal('/dev/zero')
    expect(error.code).toBe('NOT_A_FILE')
    expect(error.message).toBe('cannot read key file /dev/zero: it is a device, not a regular file')
  })

  test('a FIFO is refused without waiting for a writer', async () => {
    const path = join(dir, 'pipe')
    execFileSync('mkfifo', [path])
    const error = await refusal(path)
    expect(error.code).toBe('NOT_A_FILE')
    expect(error.reason).toBe('it is a named pipe (FIFO), not a regular file')
  })

  test('a directory and a missing file each get one sentence naming the path', async () => {
    expect((await refusal(dir)).message).toBe(`cannot read key file ${dir}: it is a directory, not a regular file`)
    const missing = await refusal(join(dir, 'absent.pub'))
    expect(missing.code).toBe('NOT_FOUND')
    expect(missing.message).toBe(`cannot read key file ${join(dir, 'absent.pub')}: no such file`)
    expect((await refusal(join(dir, 'exact.pub', 'below'))).code).toBe('NOT_FOUND')
  })
})

describe('hashUserFile', () => {
  test('hashes a file across many chunks like hashing its bytes, within the same bounds as reading', async () => {
    const path = join(dir, 'big.bin')
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7)
    bytes.write('image-syncer', 1024 * 1024 + 5)
    await writeFile(path, bytes)
    for (const algorithm of ['sha256', 'sha512']) {
      expect((await hashUserFile(path, algorithm, {what: 'file to verify', maxBytes: bytes.length})).toString('hex')).toBe(
        createHash(algorithm).update(bytes).digest('hex'),
      )
    }
    const tooLarge = await hashUserFile(path, 'sha256', {what: 'file to verify', maxBytes: bytes.length - 1}).catch((e: unknown) => e)
    expect((tooLarge as FileReadError).code).toBe('TOO_LARGE')
    const directory = await hashUserFile(dir, 'sha256', {what: 'file to verify', maxBytes: 1024}).catch((e: unknown) => e)
    expect((directory as FileReadError).code).toBe('NOT_A_FILE')
  })
})
