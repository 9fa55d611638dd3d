/**
 * action.yml's shell steps, run as the runner would run them (bash, the step's env, GITHUB_OUTPUT), against the
 * release set served on loopback and a SHA256SUMS signed keyless through mock Fulcio/Rekor: the download is
 * checked, verified, installed and run; a tampered binary or an unexpected signer stops it.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {copyFile, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {parse} from 'yaml'
import {signSums} from '../../.ci/release.ts'
import {releaseSet, type ReleaseSet} from '../support/release.ts'
import {fakeIdentityToken} from '../support/sigstore/fake-oidc.ts'
import {startMockSigstore, type MockSigstore} from '../support/sigstore/mock-sigstore.ts'

setDefaultTimeout(300_000)

interface Step {
  id?: string
  run?: string
  env?: Record<string, string>
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
  server?.stop(true)
  mock?.stop()
  if (work) await rm(work, {recursive: true, force: true})
})

/** Runs one `run:` step as the runner does (`shell: bash` is `bash --noprofile --norc -eo pipefail`) with its env, `${{ … }}` replaced from `inputs`; returns what it wrote to GITHUB_OUTPUT. */
async function runStep(step: Step, inputs: Record<string, string>, cwd: string) {
  const output = join(work, `output-${Math.random()}`)
  await writeFile(output, '')
  const env: Record<string, string> = {PATH: process.env.PATH ?? '', GITHUB_OUTPUT: output, RUNNER_TOOL_CACHE: join(work, 'tools'), RUNNER_TEMP: work, GITHUB_RUN_ID: '1', GITHUB_ACTION: 'run'}
  for (const [key, value] of Object.entries(step.env ?? {})) env[key] = value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => inputs[expr] ?? '')
  // Not spawnSync: the release server runs in this process and must keep answering curl.
  const child = Bun.spawn(['bash', '--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {cwd, env, stdout: 'pipe', stderr: 'pipe'})
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  const outputs = Object.fromEntries((await readFile(output, 'utf8')).trim().split('\n').filter(Boolean).map((l) => l.split(/=(.*)/s).slice(0, 2)))
  return {exitCode, stdout, stderr, outputs: outputs as Record<string, string>}
}

async function install(extra: Record<string, string> = {}) {
  await rm(join(work, 'tools'), {recursive: true, force: true})
  const inputs: Record<string, string> = {
    'inputs.version': set.version,
    'runner.os': 'Linux',
    'runner.arch': 'X64',
    'github.action_repository': REPO,
    'inputs.download-url': `http://127.0.0.1:${server.port}`,
    'inputs.trusted-root': join(work, 'root.json'),
    ...extra,
  }
  const platform = await runStep(steps.find((s) => s.id === 'platform')!, inputs, work)
  expect(platform.exitCode).toBe(0)
  for (const [key, value] of Object.entries(platform.outputs)) inputs[`steps.platform.outputs.${key}`] = value
  const download = await runStep(steps.find((s) => s.run?.includes('verify-blob'))!, inputs, work)
  return {inputs, download}
}

describe('action.yml', () => {
  test('downloads the runner binary, checks SHA256SUMS and its keyless bundle, then runs the command', async () => {
    const {inputs, download} = await install()
    expect(download.stderr).toBe('')
    expect(download.exitCode).toBe(0)
    expect(download.stdout).toContain(`image-syncer-${set.version}-linux-x64: OK`)
    expect(download.stdout).toContain(`signed by https://github.com/${REPO}/.github/workflows/release.yml@refs/tags/v${set.version}`)
    const run = await runStep(steps.find((s) => s.id === 'run')!, {...inputs, 'inputs.args': `--version`, 'inputs.ok-exit-codes': '0', 'inputs.working-directory': '.'}, work)
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
})
