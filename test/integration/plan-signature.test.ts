/**
 * A plan that proves where it came from (issue 20 part 2): `plan --sign` writes PLAN.sigstore.json beside the plan
 * (key, or keyless with an OIDC token as in GitHub Actions); `apply --plan-key` / `--plan-identity` refuses a plan
 * whose bundle is missing, does not verify (the plan was edited), or is from another signer, before any request
 * to a registry; a plan signed as pinned is applied.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {fakeIdentityToken} from '../support/sigstore/fake-oidc.ts'
import {type MockSigstore, startMockSigstore} from '../support/sigstore/mock-sigstore.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(30_000)

const planner = makeKeyPair()
const stranger = makeKeyPair()
const ISSUER = 'https://token.actions.githubusercontent.com'
const PLAN_WORKFLOW = 'https://github.com/acme/mirror/.github/workflows/plan.yml@refs/pull/7/merge'
let source: FakeRegistry
let target: FakeRegistry
let sigstore: MockSigstore
let dir: string

beforeAll(async () => {
  ;[source, target, sigstore] = await Promise.all([startFakeRegistry(), startFakeRegistry(), startMockSigstore()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-plan-sig-'))
  await writeFile(join(dir, 'planner.key'), planner.privatePem)
  await writeFile(join(dir, 'planner.pub'), planner.publicPem)
  await writeFile(join(dir, 'stranger.pub'), stranger.publicPem)
  await writeFile(join(dir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRootJSON))
  await writeFile(join(dir, 'images.yaml'), `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n- source: "acme/app:1.0"\n`)
  await pushImage(source.url, 'acme/app', makeImage({flavor: 'oci'}), '1.0')
})
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()])
  sigstore?.stop()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, {cwd: dir, env})
const mirror = () => ['--mirror', `docker.io=${source.url}`]
const keyless = (subject: string) => ({
  SYNCER_OIDC_TOKEN: fakeIdentityToken({sub: subject, iss: ISSUER}),
  SYNCER_FULCIO_URL: sigstore.url,
  SYNCER_REKOR_URL: sigstore.url,
})

/** Applies `plan` and returns the run and how many requests the target registry got meanwhile. */
async function applyCounting(plan: string, pin: string[]) {
  const before = target.requests.length + source.requests.length
  const run = await cli(['apply', plan, ...mirror(), ...pin])
  return {run, requests: target.requests.length + source.requests.length - before}
}

describe('signed plans', () => {
  test('plan --sign with a key writes the bundle beside the plan; apply --plan-key refuses anything else before any request', async () => {
    const plan = await cli(['plan', '-i', 'images.yaml', '-o', 'key.plan.json', '--sign', '--signing-key', 'planner.key', ...mirror()])
    expect(plan.exitCode).toBe(0)
    expect(plan.stderr).toContain('Plan signed: key.plan.sigstore.json')
    const bundle = JSON.parse(await readFile(join(dir, 'key.plan.sigstore.json'), 'utf8'))
    expect(bundle.messageSignature).toBeDefined()

    // Another signer's key: refused, nothing sent.
    const other = await applyCounting('key.plan.json', ['--plan-key', 'stranger.pub'])
    expect(other.run.exitCode).toBe(1)
    expect(other.run.stderr).toContain('was refused, nothing was sent')
    expect(other.requests).toBe(0)

    // The plan edited after signing (one byte of whitespace): refused, nothing sent.
    const text = await readFile(join(dir, 'key.plan.json'), 'utf8')
    await writeFile(join(dir, 'edited.plan.json'), `${text}\n`)
    await writeFile(join(dir, 'edited.plan.sigstore.json'), JSON.stringify(bundle))
    const edited = await applyCounting('edited.plan.json', ['--plan-key', 'planner.pub'])
    expect(edited.run.exitCode).toBe(1)
    expect(edited.run.stderr).toContain('does not verify')
    expect(edited.requests).toBe(0)

    // No bundle at all: refused, nothing sent.
    await writeFile(join(dir, 'unsigned.plan.json'), text)
    const unsigned = await applyCounting('unsigned.plan.json', ['--plan-key', 'planner.pub'])
    expect(unsigned.run.exitCode).toBe(1)
    expect(unsigned.run.stderr).toContain('unsigned.plan.json is not signed')
    expect(unsigned.requests).toBe(0)

    const applied = await applyCounting('key.plan.json', ['--plan-key', 'planner.pub'])
    expect(applied.run.exitCode).toBe(0)
    expect(applied.requests).toBeGreaterThan(0)
  })

  test('plan --sign keyless (as in the planning workflow); apply --plan-identity pins that workflow', async () => {
    const plan = await cli(['plan', '-i', 'images.yaml', '-o', 'keyless.plan.json', '--sign', ...mirror()], keyless(PLAN_WORKFLOW))
    expect(plan.exitCode).toBe(0)
    const pin = (subject: string) => ['--plan-identity', `${ISSUER}=${subject}`, '--plan-trusted-root', 'trusted_root.json']

    const otherWorkflow = await applyCounting('keyless.plan.json', pin('https://github.com/acme/mirror/.github/workflows/other.yml@refs/heads/main'))
    expect(otherWorkflow.run.exitCode).toBe(1)
    expect(otherWorkflow.run.stderr).toContain('was refused, nothing was sent')
    expect(otherWorkflow.requests).toBe(0)

    const applied = await applyCounting('keyless.plan.json', pin(PLAN_WORKFLOW))
    expect(applied.run.stderr).toBe('')
    expect(applied.run.exitCode).toBe(0)
    // As examples/github/apply.yml pins it: plan.yml of this repository on any pull request.
    const anyPullRequest = 'https://github\\.com/acme/mirror/\\.github/workflows/plan\\.yml@refs/pull/[0-9]+/merge'
    const regexp = ['--plan-identity-regexp', `${ISSUER}=${anyPullRequest}`, '--plan-trusted-root', 'trusted_root.json']
    expect((await applyCounting('keyless.plan.json', regexp)).run.exitCode).toBe(0)
    const otherRepo = ['--plan-identity-regexp', `${ISSUER}=${anyPullRequest.replace('acme', 'evil')}`, '--plan-trusted-root', 'trusted_root.json']
    const refused = await applyCounting('keyless.plan.json', otherRepo)
    expect(refused.run.exitCode).toBe(1)
    expect(refused.requests).toBe(0)
  })
})
