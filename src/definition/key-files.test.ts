/**
 * Public key files named by `signatures.keys`: read with a bound, only regular files, exactly one PEM public key
 * block per file, and only the key re-exported from it is kept.
 */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {execFileSync} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import {DefinitionError} from './errors.ts'
import {loadDefinition} from './load.ts'

let dir: string
const pair = makeKeyPair('p256')
const other = makeKeyPair('p256')
/** The base64 body of the private key: it must never appear in a message or in what is kept. */
const privateBody = other.privatePem.split('\n')[1]!

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-keyfiles-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function definitionWithKey(keyPath: string) {
  const path = join(dir, `def-${Math.random().toString(36).slice(2)}.yaml`)
  await writeFile(path, `targetRepoPrefix: "eu.gcr.io/mirror/"\nsignatures:\n  keys: ["${keyPath}"]\nimages:\n- source: "a/b:1"\n`)
  return loadDefinition(path)
}

/** The one problem a definition naming `keyPath` has; fails the test when it loads. */
async function keyProblem(keyPath: string): Promise<string> {
  const error = await definitionWithKey(keyPath).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DefinitionError)
  const problems = (error as DefinitionError).problems
  expect(problems).toHaveLength(1)
  expect(problems[0]).toMatchObject({line: 3, column: 10})
  return problems[0]!.message
}

describe('public key files that are not one small regular file are refused in one sentence', () => {
  test('/dev/zero is refused at once instead of read forever', async () => {
    expect(await keyProblem('/dev/zero')).toBe('cannot read key file /dev/zero: it is a device, not a regular file')
  })

  test('a FIFO is refused without waiting for a writer', async () => {
    const fifo = join(dir, 'pipe.pub')
    execFileSync('mkfifo', [fifo])
    expect(await keyProblem(fifo)).toBe(`cannot read key file ${fifo}: it is a named pipe (FIFO), not a regular file`)
  })

  test('a directory', async () => {
    expect(await keyProblem(dir)).toBe(`cannot read key file ${dir}: it is a directory, not a regular file`)
  })

  test('a file over 64 KiB', async () => {
    const path = join(dir, 'huge.pub')
    await writeFile(path, pair.publicPem + '\n'.repeat(64 * 1024))
    expect(await keyProblem(path)).toBe(`cannot read key file ${path}: it is ${pair.publicPem.length + 64 * 1024} bytes, more than the 64 KiB allowed`)
  })
})

describe('a key file holds exactly one PEM public key block', () => {
  test('a PUBLIC KEY followed by a PRIVATE KEY is refused, and the message does not quote either', async () => {
    const path = join(dir, 'with-private.pub')
    await writeFile(path, pair.publicPem + other.privatePem)
    const message = await keyProblem(path)
    expect(message).toBe(
      `key file ${path} holds 2 PEM blocks (PUBLIC KEY, PRIVATE KEY), one of them a private key (treat it as exposed); a public key file must hold exactly one "PUBLIC KEY" block`,
    )
    expect(message).not.toContain(privateBody)
  })

  test('two public keys in one file are refused: one key per file', async () => {
    const path = join(dir, 'two.pub')
    await writeFile(path, pair.publicPem + other.publicPem)
    expect(await keyProblem(path)).toContain('holds 2 PEM blocks (PUBLIC KEY, PUBLIC KEY)')
  })

  test('text around the block is refused', async () => {
    const path = join(dir, 'trailing.pub')
    await writeFile(path, `${pair.publicPem}password: hunter2\n`)
    const message = await keyProblem(path)
    expect(message).toBe(`key file ${path} has text outside its "PUBLIC KEY" block (or a malformed block); a public key file must hold the block alone`)
    expect(message).not.toContain('hunter2')
  })

  test('whitespace around the block and CRLF line ends are fine; what is kept is the canonical SPKI PEM', async () => {
    const path = join(dir, 'crlf.pub')
    await writeFile(path, `\n\n${pair.publicPem.replaceAll('\n', '\r\n')}\r\n\r\n`)
    const definition = await definitionWithKey(path)
    expect(definition.entries[0]!.signatures.keys).toStrictEqual([{path, pem: pair.publicPem}])
  })

  test('a PKCS#1 RSA PUBLIC KEY is kept as the SPKI PUBLIC KEY of the same key', async () => {
    const rsa = makeKeyPair('rsa')
    const path = join(dir, 'rsa.pub')
    await writeFile(path, rsa.publicKey.export({format: 'pem', type: 'pkcs1'}).toString())
    const definition = await definitionWithKey(path)
    expect(definition.entries[0]!.signatures.keys).toStrictEqual([{path, pem: rsa.publicPem}])
  })
})
