/**
 * action.yml's shell steps, run as the runner would run them (bash, the step's env, GITHUB_OUTPUT), against the
 * release set served on loopback and a SHA256SUMS signed keyless through mock Fulcio/Rekor: the download is
 * checked, verified, installed and run; a tampered binary or an unexpected signer stops it.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {existsSync} from 'node:fs'
import {appendFile, copyFile, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {parse} from 'yaml'
import {signSums} from '../../.ci/release.ts'
import {releaseSet, type ReleaseSet} from '../support/release.ts'
import {fakeIdentityToken} from '../support/sigstore/fake-oidc.ts'
import {startMockSigstore, type MockSigstore} from '../support/sigstore/mock-sigstore.ts'

setDefaultTimeout(300_000)

interface Step {
  id?: string
  if?: string
  uses?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, string>
}
const ISSUER = 'https://token.actions.githubusercontent.com'
const REPO = 'acme/image-syncer'

let set: ReleaseSet
let mock: MockSigstore
let work: string
let served: string
let server: ReturnType<typeof Bun.serve>
let steps: Step[]

beforeAll(async () => {
  set = await releaseSet()
  mock = await startMockSigstore()
  work = await mkdtemp(join(tmpdir(), 'image-syncer-action-'))
  served = join(work, 'release')
  await mkdir(served)
  const archive = `${basename(set.path('linux-x64'))}.tar.gz`
  await copyFile(join(set.dir, archive), join(served, archive))
  await copyFile(join(set.dir, 'SHA256SUMS'), join(served, 'SHA256SUMS'))
  await writeFile(join(work, 'root.json'), JSON.stringify(mock.trustedRootJSON))
  const token = fakeIdentityToken({sub: `https://github.com/${REPO}/.github/workflows/release.yml@refs/tags/v${set.version}`, iss: ISSUER})
  await signSums(served, {kind: 'keyless'}, {SYNCER_OIDC_TOKEN: token, SYNCER_FULCIO_URL: mock.url, SYNCER_REKOR_URL: mock.url})
  server = Bun.serve({hostname: '127.0.0.1', port: 0, fetch: (req) => new Response(Bun.file(join(served, new URL(req.url).pathname.slice(1))))})
  steps = (parse(await readFile(join(import.meta.dir, '../../action.yml'), 'utf8')) as {runs: {steps: Step[]}}).runs.steps
})
afterAll(async () => {
  await server?.stop(true)
  mock?.stop()
  if (work) await rm(work, {recursive: true, force: true})
})

const expand = (text: string, inputs: Record<string, string>) => text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => inputs[expr] ?? '')

/** Runs one `run:` step as the runner does (`shell: bash` is `bash --noprofile --norc -eo pipefail`) with its env, `${{ … }}` replaced from `inputs`; returns what it wrote to GITHUB_OUTPUT. */
async function runStep(step: Step, inputs: Record<string, string>, cwd: string) {
  const output = join(work, `output-${Math.random()}`)
  await writeFile(output, '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    GITHUB_OUTPUT: output,
    RUNNER_TOOL_CACHE: join(work, 'tools'),
    RUNNER_TEMP: work,
    GITHUB_RUN_ID: '1',
    GITHUB_ACTION: 'run',
  }
  for (const [key, value] of Object.entries(step.env ?? {})) env[key] = expand(value, inputs)
  // Not spawnSync: the release server runs in this process and must keep answering curl.
  const child = Bun.spawn(['bash', '--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {cwd, env, stdout: 'pipe', stderr: 'pipe'})
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  const outputs = Object.fromEntries(
    (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/=(.*)/s).slice(0, 2)),
  )
  return {exitCode, stdout, stderr, outputs: outputs as Record<string, string>}
}

/** An `if:` of the only form action.yml uses, `steps.X.outputs.Y == 'v'` or `!= 'v'`; anything else is a test failure, not a guess. */
function condition(step: Step, inputs: Record<string, string>): boolean {
  if (step.if === undefined) return true
  const m = /^\s*([\w.-]+)\s*(==|!=)\s*'([^']*)'\s*$/.exec(step.if)
  if (!m) throw new Error(`unsupported if: ${step.if}`)
  return (inputs[m[1]!] === m[3]) === (m[2] === '==')
}

const defaults = () => ({
  'inputs.version': set.version,
  'runner.os': 'Linux',
  'runner.arch': 'X64',
  'github.action_repository': REPO,
  'inputs.download-url': `http://127.0.0.1:${server.port}`,
  'inputs.trusted-root': join(work, 'root.json'),
})

/**
 * The steps before `run`, in order, as the runner runs them: `uses:` steps stand in (actions/cache reports `hit` and
 * keeps the tool directory; on a miss it starts empty), `if:` is honoured; `through: 'cache'` stops at the cache. Returns the inputs with every step's
 * outputs, the cache key asked for and the last step's result.
 */
async function install(extra: Record<string, string> = {}, {hit = false, through = 'run'} = {}) {
  if (!hit) await rm(join(work, 'tools'), {recursive: true, force: true})
  const inputs: Record<string, string> = {...defaults(), ...extra}
  let key = ''
  let last = {exitCode: 0, stdout: '', stderr: '', outputs: {} as Record<string, string>}
  for (const step of steps) {
    if (step.id === 'run') break
    if (!condition(step, inputs)) continue
    if (step.uses !== undefined) {
      expect(step.uses).toStartWith('actions/cache@')
      key = expand(step.with!.key!, inputs)
      inputs[`steps.${step.id}.outputs.cache-hit`] = String(hit)
      if (step.id === through) break
      continue
    }
    last = await runStep(step, inputs, work)
    if (last.exitCode !== 0) break
    for (const [name, value] of Object.entries(last.outputs)) inputs[`steps.${step.id}.outputs.${name}`] = value
  }
  return {inputs, key, download: last}
}

describe('action.yml', () => {
  test('downloads the runner binary, checks SHA256SUMS and its keyless bundle, then runs the command', async () => {
    const {inputs, download} = await install()
    expect(download.stderr).toBe('')
    expect(download.exitCode).toBe(0)
    expect(download.stdout).toContain(`image-syncer-${set.version}-linux-x64: OK`)
    expect(download.stdout).toContain(`signed by https://github.com/${REPO}/.github/workflows/release.yml@refs/tags/v${set.version}`)
    const run = await runStep(
      steps.find((s) => s.id === 'run')!,
      {...inputs, 'inputs.args': `--version`, 'inputs.ok-exit-codes': '0', 'inputs.working-directory': '.'},
      work,
    )
    expect(run.exitCode).toBe(0)
    expect(run.outputs['exit-code']).toBe('0')
    const version = Bun.spawnSync([set.path('linux-x64'), '--version']).stdout.toString()
    expect(version).toStartWith(`image-syncer/${set.version} (commit `)
    expect(await readFile(run.outputs['stdout-file']!, 'utf8')).toBe(version)
    const plan = await runStep(steps.find((s) => s.id === 'run')!, {...inputs, 'inputs.args': `plan -i "no such.yaml"`, 'inputs.ok-exit-codes': '0,2'}, work)
    expect(plan.exitCode).toBe(1)
    expect(plan.outputs['exit-code']).toBe('1')
  })

  test('a signer other than the expected release workflow, or a pinned SHA256SUMS digest that differs, stops the install', async () => {
    const wrongSigner = await install({'inputs.signer-identity': 'https://github.com/evil/fork/.github/workflows/release.yml@refs/tags/v1'})
    expect(wrongSigner.download.exitCode).not.toBe(0)
    expect(wrongSigner.download.stderr).toContain('not the expected identity')
    const pinned = await install({'inputs.sums-sha256': '0'.repeat(64)})
    expect(pinned.download.exitCode).not.toBe(0)
    expect(pinned.download.stdout + pinned.download.stderr).toContain('FAILED')
  })

  test('an install without sums-sha256 writes a warning annotation naming the missing pin; a pinned install does not', async () => {
    const unpinned = await install()
    expect(unpinned.download.exitCode).toBe(0)
    expect(unpinned.download.stdout).toMatch(/^::warning title=image-syncer sums-sha256 is not set::.*set sums-sha256 to the sha256 of SHA256SUMS/m)
    const sums = new Bun.CryptoHasher('sha256').update(await readFile(join(served, 'SHA256SUMS'))).digest('hex')
    const pinned = await install({'inputs.sums-sha256': sums})
    expect(pinned.download.stderr).toBe('')
    expect(pinned.download.exitCode).toBe(0)
    expect(pinned.download.stdout).toContain('SHA256SUMS: OK')
    expect(pinned.download.stdout).not.toContain('::warning')
  })

  test('the cache key changes with each trust input: pin, signer identity, download URL, trusted root contents', async () => {
    const otherRoot = join(work, 'other-root.json')
    await writeFile(otherRoot, JSON.stringify(mock.trustedRootJSON, null, 1))
    const key = async (extra: Record<string, string> = {}) => (await install(extra, {through: 'cache'})).key
    const keys = [
      await key(),
      await key({'inputs.sums-sha256': 'a'.repeat(64)}),
      await key({'inputs.signer-identity': 'https://github.com/evil/fork/.github/workflows/release.yml@refs/tags/v1'}),
      await key({'inputs.download-url': `http://localhost:${server.port}`}),
      await key({'inputs.trusted-root': otherRoot}),
    ]
    expect(keys[0]).toStartWith(`image-syncer-${set.version}-linux-x64-`)
    expect(new Set(keys).size).toBe(keys.length)
    expect(await key()).toBe(keys[0]!)
  })

  test('on a cache hit the cached binary is checked against a fresh SHA256SUMS: changed, it is refused and removed', async () => {
    const first = await install()
    expect(first.download.exitCode).toBe(0)
    const binary = join(first.inputs['steps.platform.outputs.dir']!, first.inputs['steps.platform.outputs.exe']!)
    const intact = await install({}, {hit: true})
    expect(intact.download.exitCode).toBe(0)
    expect(intact.download.stdout).toContain(`${basename(binary)}: OK`)
    // The cache entry replaced whole: another binary, and a SHA256SUMS in the cache that lists it.
    await appendFile(binary, 'planted')
    const planted = new Bun.CryptoHasher('sha256').update(await readFile(binary)).digest('hex')
    await writeFile(join(dirname(binary), 'SHA256SUMS'), `${planted}  ${basename(binary)}\n`)
    const hit = await install({}, {hit: true})
    expect(hit.download.exitCode).toBe(1)
    expect(hit.download.stdout).toContain(`${basename(binary)}: FAILED`)
    expect(hit.download.stdout).toContain(`::error::${basename(binary)} does not match SHA256SUMS`)
    expect(existsSync(binary)).toBe(false)
  })
})
