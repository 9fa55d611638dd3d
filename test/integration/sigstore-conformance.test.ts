/**
 * sigstore-conformance's bundle-verify cases (vendored, see test/fixtures/sigstore-conformance/README.md), run
 * the way its suite runs a client: each case once with the artifact file and once with `sha256:<hex>`; a case
 * whose directory name ends in `_fail` must fail, every other must verify. Materials follow its README: `key.pub`
 * means a keyed verification, `trusted_root.json` replaces the public-good root, `identity`/`issuer` override
 * the defaults, `artifact` replaces `a.txt`.
 */
import {afterAll, describe, expect, test} from 'bun:test'
import {createHash, generateKeyPairSync} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {type BlobInput, type BlobTrust, verifyBlobInput} from '../../src/signatures/blob-verify.ts'
import {loadTrustedRoot} from '../../src/signatures/trust.ts'
import {runCommandInProcess} from '../support/run-command.ts'

const CASES = join(import.meta.dir, '../fixtures/sigstore-conformance/bundle-verify')
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main'
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com'

const names = readdirSync(CASES, {withFileTypes: true})
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

/** The trust a case's materials give, read as verify-blob reads its flags. */
async function trustOf(dir: string): Promise<BlobTrust> {
  const material = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : undefined)
  const rootFile = join(dir, 'trusted_root.json')
  const trustedRoot = await loadTrustedRoot(existsSync(rootFile) ? {kind: 'file', path: rootFile} : {kind: 'public-good'})
  const pem = material('key.pub')
  if (pem !== undefined) return {kind: 'key', pem, trustedRoot}
  const subject = material('identity')?.trim() ?? DEFAULT_IDENTITY
  return {kind: 'identity', identity: {issuer: material('issuer')?.trim() ?? DEFAULT_ISSUER, subject: {kind: 'exact', value: subject}}, trustedRoot}
}

/** 'verified', or the error's message. Loading the trust is part of the run: a bad trusted root is a failure. */
async function run(dir: string, as: 'file' | 'digest'): Promise<string> {
  const artifact = existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(CASES, 'a.txt')
  const input: BlobInput =
    as === 'file'
      ? {kind: 'file', path: artifact, maxBytes: 1024 * 1024}
      : {kind: 'digest', algorithm: 'sha256', digest: createHash('sha256').update(readFileSync(artifact)).digest()}
  try {
    await verifyBlobInput(input, readFileSync(join(dir, 'bundle.sigstore.json')), await trustOf(dir))
    return 'verified'
  } catch (error) {
    return `failed: ${(error as Error).message}`
  }
}

describe.each(['file', 'digest'] as const)('verify-blob with the artifact as a %s', (as) => {
  for (const name of names) {
    const expected = name.endsWith('_fail') ? 'fails' : 'verifies'
    test(`${name} ${expected}`, async () => {
      const outcome = await run(join(CASES, name), as)
      if (expected === 'verifies') expect(outcome).toBe('verified')
      else expect(outcome).toStartWith('failed: ')
    })
  }
})

test('every vendored case is found and run', () => {
  expect(names.length).toBeGreaterThanOrEqual(70)
})

describe('the verify-blob command takes the artifact as a path or as sha256:<hex>', () => {
  const cli = (args: string[]) => runCommandInProcess(['verify-blob', ...args])
  const A_TXT = join(CASES, 'a.txt')
  const digest = `sha256:${createHash('sha256').update(readFileSync(A_TXT)).digest('hex')}`
  const scratch = mkdtempSync(join(tmpdir(), 'image-syncer-conformance-'))
  afterAll(() => rmSync(scratch, {recursive: true, force: true}))
  const keyed = (name: string) => [
    '--bundle',
    join(CASES, name, 'bundle.sigstore.json'),
    '--key',
    join(CASES, name, 'key.pub'),
    '--trusted-root',
    join(CASES, name, 'trusted_root.json'),
  ]

  test.each([A_TXT, digest])('a keyed bundle with a log entry and --trusted-root verifies for %s; the wrong key does not', async (artifact) => {
    expect((await cli([artifact, ...keyed('managed-key-and-trusted-root')])).exitCode).toBe(0)
    const otherKey = join(scratch, 'other.pub')
    writeFileSync(otherKey, generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({format: 'pem', type: 'spki'}))
    const wrong = await cli([artifact, ...keyed('managed-key-and-trusted-root').slice(0, 2), '--key', otherKey])
    expect(wrong.exitCode).toBe(1)
    expect(wrong.stderr).toContain('the signature does not verify')
  })

  test('--format json prints the verified in-toto statement of a DSSE bundle; --predicate-type must match', async () => {
    const identity = ['--identity', `${DEFAULT_ISSUER}=${DEFAULT_IDENTITY}`, '--bundle', join(CASES, 'happy-path-intoto-in-dsse-v3', 'bundle.sigstore.json')]
    const run = await cli([digest, ...identity, '--format', 'json'])
    expect(run.exitCode).toBe(0)
    const printed = JSON.parse(run.stdout) as {verified: boolean; statement: {predicateType: string; subject: Array<{digest: {sha256: string}}>}}
    expect(printed.verified).toBe(true)
    expect(printed.statement.subject.map((s) => `sha256:${s.digest.sha256}`)).toContain(digest)
    expect((await cli([A_TXT, ...identity, '--predicate-type', printed.statement.predicateType])).exitCode).toBe(0)
    const other = await cli([A_TXT, ...identity, '--predicate-type', 'https://example.com/other/v1'])
    expect(other.exitCode).toBe(1)
    expect(other.stderr).toContain('predicate type is')
  })
})
