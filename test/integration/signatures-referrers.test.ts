/**
 * Referrer signatures end to end through the in-process registry, with and without the referrers API, and
 * keyless signing against mock Fulcio/Rekor on loopback: sign the source (CLI), plan with an identity policy,
 * apply, and the mirror verifies.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {fakeIdentityToken} from '../support/sigstore/fake-oidc.ts'
import {type MockSigstore, startMockSigstore} from '../support/sigstore/mock-sigstore.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(60_000)

const vendor = makeKeyPair()
const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main'
const ISSUER = 'https://token.actions.githubusercontent.com'
let sigstore: MockSigstore
let dir: string
const registries: FakeRegistry[] = []

beforeAll(async () => {
  sigstore = await startMockSigstore()
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-referrers-'))
  await writeFile(join(dir, 'vendor.pub'), vendor.publicPem)
  await writeFile(join(dir, 'vendor.key'), vendor.privatePem)
  await writeFile(join(dir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRootJSON))
})
afterAll(async () => {
  sigstore?.stop()
  await Promise.all(registries.map((r) => r.stop()))
  if (dir) await rm(dir, {recursive: true, force: true})
})

async function registry(referrers: 'api' | 'none'): Promise<FakeRegistry> {
  const r = await startFakeRegistry({referrers})
  registries.push(r)
  return r
}

const keylessEnv = () => ({
  SYNCER_OIDC_TOKEN: fakeIdentityToken({sub: SUBJECT, iss: ISSUER}),
  SYNCER_FULCIO_URL: sigstore.url,
  SYNCER_REKOR_URL: sigstore.url,
})

describe('bundle referrers are verified and carried to the mirror', () => {
  for (const [from, to] of [
    ['api', 'none'],
    ['none', 'api'],
  ] as const) {
    test(`keyed bundle: source referrers ${from} → target referrers ${to}`, async () => {
      const [source, target] = await Promise.all([registry(from), registry(to)])
      const image = makeImage({flavor: 'oci'})
      await pushImage(source.url, 'acme/app', image, '1.0')
      expect((await runCli(['sign', `${source.host}/acme/app:1.0`, '--key', join(dir, 'vendor.key')])).exitCode).toBe(0)

      const def = join(dir, `keyed-${from}-${to}.yaml`)
      await writeFile(
        def,
        `targetRepoPrefix: "${target.host}/m/"\nsignatures:\n  verify: required\n  keys: [./vendor.pub]\nimages:\n- source: "${source.host}/acme/app:1.0"\n`,
      )
      const planPath = join(dir, `keyed-${from}-${to}.plan.json`)
      expect((await runCli(['plan', '-i', def, '-o', planPath])).exitCode).toBe(0)
      expect((await readPlan(planPath)).entries[0]!.signature.status).toBe('verified')
      const apply = await runCli(['apply', planPath, '--format', 'json'])
      expect(apply.exitCode).toBe(0)
      expect(JSON.parse(apply.stdout).entries[0].signature).toMatchObject({status: 'verified', copied: 1})
      const mirrored = `${target.host}/m/${source.host.replace(':', '-')}/acme/app:1.0`
      expect((await runCli(['verify', mirrored, '--key', join(dir, 'vendor.pub')])).exitCode).toBe(0)
      // With the API the target indexes the referrer itself; without it we wrote the fallback index.
      const fallbackTag = image.digest.replace(':', '-')
      const fallback = target.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/manifests/${fallbackTag}`))
      expect(fallback.length > 0).toBe(to === 'none')
    })
  }

  test('keyless: signed through mock Fulcio/Rekor, verified by identity with a trusted root file, mirrored', async () => {
    const [source, target] = await Promise.all([registry('api'), registry('api')])
    const image = makeImage({flavor: 'oci'})
    await pushImage(source.url, 'acme/keyless', image, '2.0')
    const signed = await runCli(['sign', `${source.host}/acme/keyless:2.0`, '--keyless'], {env: keylessEnv()})
    expect(signed.stderr).toBe('')
    expect(signed.exitCode).toBe(0)

    const policy = (subject: string) =>
      `signatures:\n  verify: required\n  trustedRoot: ./trusted_root.json\n  identities:\n    - issuer: ${ISSUER}\n      subject: ${subject}\n`
    const ok = join(dir, 'keyless.yaml')
    await writeFile(ok, `targetRepoPrefix: "${target.host}/m/"\n${policy(SUBJECT)}images:\n- source: "${source.host}/acme/keyless:2.0"\n`)
    const planPath = join(dir, 'keyless.plan.json')
    expect((await runCli(['plan', '-i', ok, '-o', planPath])).exitCode).toBe(0)
    expect((await readPlan(planPath)).entries[0]!.signature.signers).toEqual([{kind: 'identity', subject: SUBJECT, issuer: ISSUER}])
    expect((await runCli(['apply', planPath])).exitCode).toBe(0)
    const mirrored = `${target.host}/m/${source.host.replace(':', '-')}/acme/keyless:2.0`
    const verify = await runCli(['verify', mirrored, '--identity', `${ISSUER}=${SUBJECT}`, '--trusted-root', join(dir, 'trusted_root.json')])
    expect(verify.exitCode).toBe(0)
    expect(verify.stdout).toContain(`${SUBJECT} (issuer ${ISSUER})`)

    // Another workflow's identity does not satisfy the policy.
    const wrong = join(dir, 'keyless-wrong.yaml')
    await writeFile(
      wrong,
      `targetRepoPrefix: "${target.host}/m2/"\n${policy(SUBJECT.replace('release.yml', 'evil.yml'))}images:\n- source: "${source.host}/acme/keyless:2.0"\n`,
    )
    const refused = await runCli(['plan', '-i', wrong, '-o', join(dir, 'keyless-wrong.plan.json')])
    expect(refused.exitCode).toBe(1)
    expect((await readPlan(join(dir, 'keyless-wrong.plan.json'))).entries[0]!.signature.status).toBe('failed')
  })
})
