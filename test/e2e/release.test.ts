/**
 * The release set (`npm run release`), built once per run (test/support/release.ts): checksums, archives, one
 * version everywhere, the right executable format per platform, the signed SHA256SUMS verified by the binary
 * itself, and the linux binaries doing real work from a directory outside the checkout.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {copyFile, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {signSums, TARGETS, type Target} from '../../.ci/release.ts'
import {readPlan} from '../support/plan-file.ts'
import {classifiableEntries, runCli, type Scenario, startScenario} from '../integration/scenario.ts'
import {canRunMusl, muslEnv} from '../support/musl.ts'
import {releaseSet, type ReleaseSet} from '../support/release.ts'
import {fakeIdentityToken} from '../support/sigstore/fake-oidc.ts'
import {startMockSigstore, type MockSigstore} from '../support/sigstore/mock-sigstore.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'

setDefaultTimeout(300_000)

/** qemu-user runs the arm64 binary; its glibc comes from Debian's libc6-arm64-cross. */
const QEMU = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find(existsSync)
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu'

let set: ReleaseSet
let s: Scenario
let cwd: string
beforeAll(async () => {
  set = await releaseSet()
  s = await startScenario()
  cwd = await mkdtemp(join(tmpdir(), 'image-syncer-release-'))
})
afterAll(async () => {
  await s?.stop()
  if (cwd) await rm(cwd, {recursive: true, force: true})
})

const run = (cmd: string[], env: Record<string, string> = {}) => {
  const r = Bun.spawnSync(cmd, {cwd, env: {...process.env, ...env}, stdout: 'pipe', stderr: 'pipe'})
  return {exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString()}
}

describe('the release set', () => {
  test('SHA256SUMS lists every binary and archive with its digest; archives hold the binary as root:root', async () => {
    const sums = await readFile(join(set.dir, 'SHA256SUMS'), 'utf8')
    const lines = sums.trim().split('\n')
    expect(lines).toHaveLength(Object.keys(TARGETS).length * 2)
    for (const line of lines) {
      const [hex, name] = line.split('  ') as [string, string]
      expect(
        createHash('sha256')
          .update(await readFile(join(set.dir, name)))
          .digest('hex'),
      ).toBe(hex)
    }
    for (const target of Object.keys(TARGETS) as Target[]) {
      const binary = set.path(target)
      const archive = `${binary.replace(/\.exe$/, '')}.tar.gz`
      const listing = run(['tar', '-tvzf', archive]).stdout.trim()
      expect(listing).toMatch(new RegExp(`^-rwxr-xr-x 0/0 .* ${binary.split('/').pop()!.replace('.', '\\.')}$`))
    }
  })

  test('each binary is an executable for its platform (ELF, Mach-O, PE headers)', async () => {
    const head = async (target: Target) => Buffer.from(await Bun.file(set.path(target)).slice(0, 4096).arrayBuffer())
    const elf = async (target: Target) => {
      const h = await head(target)
      expect(h.subarray(0, 4).toString('latin1')).toBe('\x7fELF')
      return {machine: h.readUInt16LE(18), text: h.toString('latin1')}
    }
    expect((await elf('linux-x64')).machine).toBe(0x3e)
    expect((await elf('linux-arm64')).machine).toBe(0xb7)
    const musl = await elf('linux-x64-musl')
    expect(musl.machine).toBe(0x3e)
    expect(musl.text).toContain('/lib/ld-musl-x86_64.so.1') // PT_INTERP: musl's loader, not glibc's
    const macho = async (target: Target) => {
      const h = await head(target)
      expect(h.readUInt32LE(0)).toBe(0xfeedfacf) // MH_MAGIC_64
      expect(h.readUInt32LE(12)).toBe(2) // MH_EXECUTE
      return h.readUInt32LE(4)
    }
    expect(await macho('darwin-x64')).toBe(0x01000007) // CPU_TYPE_X86_64
    expect(await macho('darwin-arm64')).toBe(0x0100000c) // CPU_TYPE_ARM64
    const pe = await head('windows-x64')
    expect(pe.subarray(0, 2).toString('latin1')).toBe('MZ')
    const at = pe.readUInt32LE(0x3c)
    expect(pe.subarray(at, at + 4).toString('latin1')).toBe('PE\0\0')
    expect(pe.readUInt16LE(at + 4)).toBe(0x8664) // IMAGE_FILE_MACHINE_AMD64
  })

  test('every binary reports the same version, naming the commit it was built from', async () => {
    const expected = `image-syncer/${set.version} (commit ${set.commit})\n`
    const version = run([set.path('linux-x64'), '--version'])
    expect(version).toEqual({exitCode: 0, stdout: expected, stderr: ''})
    // The platforms this machine cannot run carry the same define: the commit is in the embedded bundle.
    for (const target of Object.keys(TARGETS) as Target[]) {
      const bytes = await readFile(set.path(target))
      expect(bytes.includes(Buffer.from(JSON.stringify(set.commit)))).toBe(true)
    }
  })

  const cycle = async (target: Target, env: Record<string, string> = {}) => {
    const binary = set.path(target)
    // Each binary mirrors under its own prefix, so every cycle starts with everything to copy.
    const def = await s.definition(`${target}.yaml`, classifiableEntries(s, false))
    await writeFile(def, (await readFile(def, 'utf8')).replace(`targetRepoPrefix: "${s.prefix}"`, `targetRepoPrefix: "${s.prefix}${target}/"`))
    const planPath = join(cwd, `${target}.plan.json`)
    const mirror = s.mirrorFlag
    const plan = await runCli(['plan', '-i', def, '-o', planPath, '--mirror', mirror, '--detailed-exitcode'], {binary, cwd, env})
    expect(plan.stderr).toBe(`Plan written to ${planPath}\n`)
    expect(plan.exitCode).toBe(2)
    const apply = await runCli(['apply', planPath, '--mirror', mirror], {binary, cwd, env})
    expect(apply.stderr).not.toContain('Error')
    expect(apply.exitCode).toBe(0)
    expect(apply.stdout).toMatch(/Apply: \d+ copied, \d+ already present, 0 conflicts, 0 failed/)
    const replan = await runCli(['plan', '-i', def, '-o', planPath, '--mirror', mirror, '--detailed-exitcode'], {binary, cwd, env})
    expect(replan.exitCode).toBe(0)
  }

  test('linux-x64: the full plan → apply cycle from a directory outside the checkout', () => cycle('linux-x64'))

  test.if(canRunMusl())("linux-x64-musl, on musl's loader: --version and the full plan → apply cycle", async () => {
    const env = await muslEnv(cwd)
    expect(run([set.path('linux-x64-musl'), '--version'], env).stdout).toBe(`image-syncer/${set.version} (commit ${set.commit})\n`)
    await cycle('linux-x64-musl', env)
  })

  test.if(QEMU !== undefined && existsSync(ARM64_SYSROOT))('linux-arm64 under qemu: --version and a plan against a loopback registry', async () => {
    const binary = set.path('linux-arm64')
    const qemu = [QEMU!, '-L', ARM64_SYSROOT, binary]
    expect(run([...qemu, '--version']).stdout).toBe(`image-syncer/${set.version} (commit ${set.commit})\n`)
    const def = await s.definition('arm64.yaml', `- source: "multi:1.0"\n`)
    const plan = run([...qemu, 'plan', '-i', def, '-o', join(cwd, 'arm64.plan.json'), '--mirror', s.mirrorFlag])
    expect(plan.stderr).toBe(`Plan written to ${join(cwd, 'arm64.plan.json')}\n`)
    expect(plan.exitCode).toBe(0)
    expect((await readPlan(join(cwd, 'arm64.plan.json'))).entries).toHaveLength(1)
  })
})

describe('the signed SHA256SUMS, verified by the released binary', () => {
  let mock: MockSigstore
  let dir: string
  beforeAll(async () => {
    mock = await startMockSigstore()
    dir = await mkdtemp(join(tmpdir(), 'image-syncer-sums-'))
    await copyFile(join(set.dir, 'SHA256SUMS'), join(dir, 'SHA256SUMS'))
  })
  afterAll(async () => {
    mock?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })
  const verifyBlob = (args: string[]) =>
    run([set.path('linux-x64'), 'verify-blob', join(dir, 'SHA256SUMS'), '--bundle', join(dir, 'SHA256SUMS.sigstore.json'), ...args])

  test('keyed: verifies with the public key, not with another key, and not once the file changed', async () => {
    const key = makeKeyPair()
    await writeFile(join(dir, 'release.key'), key.privatePem)
    await writeFile(join(dir, 'release.pub'), key.publicPem)
    await writeFile(join(dir, 'other.pub'), makeKeyPair().publicPem)
    await signSums(dir, {kind: 'key', keyPath: join(dir, 'release.key')}, {})
    const ok = verifyBlob(['--key', join(dir, 'release.pub')])
    expect(ok.stderr).toBe('')
    expect(ok.stdout).toMatch(/^Verified .*SHA256SUMS: signed by key sha256:[0-9a-f]{64}\n$/)
    expect(verifyBlob(['--key', join(dir, 'other.pub')]).exitCode).toBe(1)
    const sums = await readFile(join(dir, 'SHA256SUMS'))
    await writeFile(join(dir, 'SHA256SUMS'), Buffer.concat([sums, Buffer.from(`${'0'.repeat(64)}  evil\n`)]))
    const tampered = verifyBlob(['--key', join(dir, 'release.pub')])
    expect(tampered.exitCode).toBe(1)
    // The bundle records the digest it signs: a changed file is refused by it before the signature is checked.
    expect(tampered.stderr).toContain('the bundle is for another file')
    await writeFile(join(dir, 'SHA256SUMS'), sums)
  })

  test('keyless under GitHub Actions: the job OIDC token, mock Fulcio/Rekor on loopback, verified by identity', async () => {
    const subject = 'https://github.com/acme/image-syncer/.github/workflows/release.yml@refs/tags/v0.1.0'
    const issuer = 'https://token.actions.githubusercontent.com'
    const token = fakeIdentityToken({sub: subject, iss: issuer})
    // The Actions id-token endpoint: a bearer-protected GET that answers {"value": JWT} for audience sigstore.
    const oidc = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (req) =>
        req.headers.get('authorization') === 'Bearer runner-secret' && new URL(req.url).searchParams.get('audience') === 'sigstore'
          ? Response.json({value: token})
          : new Response('no', {status: 401}),
    })
    try {
      const env = {
        GITHUB_ACTIONS: 'true',
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${oidc.port}/token?x=1`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-secret',
        SYNCER_FULCIO_URL: mock.url,
        SYNCER_REKOR_URL: mock.url,
      }
      await signSums(dir, {kind: 'keyless'}, env)
    } finally {
      await oidc.stop(true)
    }
    await writeFile(join(dir, 'root.json'), JSON.stringify(mock.trustedRootJSON))
    const ok = verifyBlob(['--identity', `${issuer}=${subject}`, '--trusted-root', join(dir, 'root.json')])
    expect(ok.stderr).toBe('')
    expect(ok.stdout).toContain(`signed by ${subject} (issuer ${issuer})`)
    const someoneElse = verifyBlob([
      '--identity',
      `${issuer}=https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main`,
      '--trusted-root',
      join(dir, 'root.json'),
    ])
    expect(someoneElse.exitCode).toBe(1)
    expect(someoneElse.stderr).toContain('not the expected identity')
    // The public-good root (the default) does not know the mock CA.
    expect(verifyBlob(['--identity', `${issuer}=${subject}`]).exitCode).toBe(1)
  })
})
