/**
 * Signatures versus attestations end to end, through the CLI on in-process registries: an image whose only
 * "signature" is a cosign attestation bundle or a legacy `.att` fails `verify: required`; a cosign sign/v1 bundle
 * verifies; `attestations:` requires verified statements of each listed type in plan and again in apply; and
 * `verify --attestation-type`. Statements are signed with test keys by test/support/sigstore/statements.ts.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {keyFingerprint} from '../../src/signatures/trust.ts'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {headManifest, type Image, makeImage, pushImage} from '../support/images.ts'
import {attestationEnvelope, COSIGN_ATTESTATION, COSIGN_SIGN, SLSA_V1, statementBundle} from '../support/sigstore/statements.ts'
import {makeKeyPair, type TestKeyPair} from '../support/sigstore/test-keys.ts'
import {runCli} from './scenario.ts'
import {BUNDLE_V03, blob, DSSE, fallbackTagOf, legacyImage, push, referrer, SIGNATURE_KEY} from './signature-fixtures.ts'

setDefaultTimeout(60_000)

const SPDX = 'https://spdx.dev/Document'
/** A predicate type as a hostile registry could write it: it must reach the terminal neutralised. */
const HOSTILE = 'https://evil.example/\u001b]0;pwned\u0007\u001b[31m'
const vendor = makeKeyPair()
const builder = makeKeyPair()
let source: FakeRegistry
let target: FakeRegistry
let dir: string
const images: Record<string, Image> = {}

/** Pushes a cosign v3 bundle referrer of `predicateType`, signed by `key`, for the image; returns its digest. */
async function attach(repo: string, image: Image, predicateType: string, key: TestKeyPair): Promise<string> {
  const bundle = blob(await statementBundle(key, image.digest, predicateType), BUNDLE_V03)
  const annotations = {'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': predicateType}
  return push(source.url, repo, referrer(image, {artifactType: BUNDLE_V03, layers: [{blob: bundle, annotations: {}}], annotations}))
}

async function seed(repo: string, attachments: Array<[string, TestKeyPair]>): Promise<void> {
  const image = makeImage({flavor: 'oci'})
  images[repo] = image
  await pushImage(source.url, repo, image, '1.0')
  for (const [predicateType, key] of attachments) await attach(repo, image, predicateType, key)
}

beforeAll(async () => {
  ;[source, target] = await Promise.all([startFakeRegistry({referrers: 'api'}), startFakeRegistry({referrers: 'api'})])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-attestations-'))
  await writeFile(join(dir, 'vendor.pub'), vendor.publicPem)
  await writeFile(join(dir, 'builder.pub'), builder.publicPem)
  await seed('acme/att-only', [[COSIGN_ATTESTATION, vendor]])
  await seed('acme/signed', [
    [COSIGN_SIGN, vendor],
    [SLSA_V1, vendor],
    [SPDX, builder],
    [HOSTILE, vendor],
  ])
  await seed('acme/no-slsa', [[COSIGN_SIGN, vendor]])
  // A legacy .att (cosign v2 attest) with SLSA provenance, and nothing else.
  await seed('acme/legacy-att', [])
  const envelope = blob(await attestationEnvelope(vendor, images['acme/legacy-att']!.digest, SLSA_V1), DSSE)
  await push(
    source.url,
    'acme/legacy-att',
    legacyImage([{blob: envelope, annotations: {[SIGNATURE_KEY]: '', predicateType: SLSA_V1}}]),
    `${fallbackTagOf(images['acme/legacy-att']!.digest)}.att`,
  )
})
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()])
  if (dir) await rm(dir, {recursive: true, force: true})
})

/** A definition mirroring under `<target>/<name>/`, so each test starts from an empty mirror. */
async function definition(name: string, signatures: string, repos: string[]): Promise<string> {
  const path = join(dir, `${name}.yaml`)
  await writeFile(
    path,
    `targetRepoPrefix: "${target.host}/${name}/"\nsignatures:\n${signatures}\nimages:\n${repos.map((r) => `- source: "${source.host}/${r}:1.0"`).join('\n')}\n`,
  )
  return path
}
const mirrored = (name: string, repo: string) => `${name}/${source.host.replace(':', '-')}/${repo}`

describe('a signature is what cosign verify accepts', () => {
  test('an attestation bundle or a legacy .att alone fails verify: required; a sign/v1 bundle verifies', async () => {
    const def = await definition('required', '  verify: required\n  keys: [./vendor.pub]', ['acme/att-only', 'acme/legacy-att', 'acme/no-slsa'])
    const planPath = join(dir, 'required.plan.json')
    const plan = await runCli(['plan', '-i', def, '-o', planPath])
    expect(plan.exitCode).toBe(1)
    expect(plan.stderr).toContain('verify is required but no signature was found (1 attestation was found, but an attestation is not a signature)')
    const entries = (await readPlan(planPath)).entries
    expect(entries.map((e) => [e.source.split('/').slice(1).join('/'), e.signature.status, e.signature.found])).toEqual([
      ['acme/att-only:1.0', 'failed', 0],
      ['acme/legacy-att:1.0', 'failed', 0],
      ['acme/no-slsa:1.0', 'verified', 1],
    ])

    const apply = await runCli(['apply', planPath, '--format', 'json'])
    expect(apply.exitCode).toBe(1)
    expect(JSON.parse(apply.stdout).entries.map((e: {result: {kind: string}}) => e.result.kind)).toEqual(['failed', 'failed', 'copied'])
    expect((await headManifest(target.url, mirrored('required', 'acme/att-only'), images['acme/att-only']!.digest)).status).toBe(404)
    expect((await headManifest(target.url, mirrored('required', 'acme/legacy-att'), images['acme/legacy-att']!.digest)).status).toBe(404)
  })
})

describe('attestations: required predicate types', () => {
  const policy = [
    '  verify: required',
    '  keys: [./vendor.pub]',
    '  attestations:',
    `  - predicateType: ${SLSA_V1}`,
    `  - predicateType: ${SPDX}`,
    '    keys: [./builder.pub]',
  ].join('\n')

  test('plan records each attestation; a missing one fails the entry (exit 1) and apply does not copy it', async () => {
    const def = await definition('attest', policy, ['acme/signed', 'acme/no-slsa'])
    const planPath = join(dir, 'attest.plan.json')
    const plan = await runCli(['plan', '-i', def, '-o', planPath])
    expect(plan.exitCode).toBe(1)
    expect(plan.stdout).toContain('attestations 2/2')
    expect(plan.stdout).toContain('failed; attestations 0/2 (slsa.dev/provenance/v1 missing, spdx.dev/Document missing)')
    expect(plan.stderr).toContain(`required attestation ${SLSA_V1} was not found`)
    const [signed, noSlsa] = (await readPlan(planPath)).entries
    expect(signed!.signature).toMatchObject({
      status: 'verified',
      attestations: [
        {predicateType: SLSA_V1, status: 'verified', signers: [{kind: 'key', fingerprint: keyFingerprint(vendor.publicPem)}]},
        // Its own key: the vendor's key would not do, the builder's does.
        {predicateType: SPDX, status: 'verified', signers: [{kind: 'key', fingerprint: keyFingerprint(builder.publicPem)}]},
      ],
    })
    expect(signed!.signature.policy.attestations).toEqual([
      {predicateType: SLSA_V1, trust: {kind: 'entry'}},
      {predicateType: SPDX, trust: {kind: 'own', keys: [{fingerprint: keyFingerprint(builder.publicPem), pem: builder.publicPem}], identities: []}},
    ])
    expect(noSlsa!.signature).toMatchObject({status: 'failed', signers: [{kind: 'key'}], attestations: [{status: 'missing'}, {status: 'missing'}]})

    const apply = await runCli(['apply', planPath, '--format', 'json'])
    expect(JSON.parse(apply.stdout).entries.map((e: {result: {kind: string}}) => e.result.kind)).toEqual(['copied', 'failed'])
    expect((await headManifest(target.url, mirrored('attest', 'acme/no-slsa'), images['acme/no-slsa']!.digest)).status).toBe(404)
  })

  test('an attestation signed by the wrong key fails, and says so', async () => {
    const def = await definition('wrong-key', `  keys: [./vendor.pub]\n  attestations:\n  - predicateType: ${SPDX}`, ['acme/signed'])
    const plan = await runCli(['plan', '-i', def, '-o', join(dir, 'wrong-key.plan.json')])
    expect(plan.exitCode).toBe(1)
    expect(plan.stderr).toContain(`required attestation ${SPDX}: referrer sha256:`)
    expect(plan.stderr).toContain('no trusted key verifies the signature')
    expect((await readPlan(join(dir, 'wrong-key.plan.json'))).entries[0]!.signature.attestations).toMatchObject([
      {predicateType: SPDX, status: 'failed', signers: []},
    ])
  })

  test('under verify: skip signatures are not checked, but listed attestations still are', async () => {
    const def = await definition('skip', `  verify: skip\n  attestations:\n  - predicateType: ${SLSA_V1}\n    keys: [./vendor.pub]`, [
      'acme/signed',
      'acme/att-only',
    ])
    const planPath = join(dir, 'skip.plan.json')
    expect((await runCli(['plan', '-i', def, '-o', planPath])).exitCode).toBe(1)
    const entries = (await readPlan(planPath)).entries
    expect(entries.map((e) => [e.signature.status, e.signature.attestations.map((a) => a.status)])).toEqual([
      ['skipped', ['verified']],
      ['failed', ['missing']],
    ])
  })

  test('apply checks again: an attestation gone since the plan stops the copy', async () => {
    await seed('acme/gone', [[COSIGN_SIGN, vendor]])
    const provenance = await attach('acme/gone', images['acme/gone']!, SLSA_V1, vendor)
    const def = await definition('gone', `  verify: required\n  keys: [./vendor.pub]\n  attestations:\n  - predicateType: ${SLSA_V1}`, ['acme/gone'])
    const planPath = join(dir, 'gone.plan.json')
    expect((await runCli(['plan', '-i', def, '-o', planPath])).exitCode).toBe(0)
    const deleted = await fetch(`${source.url}/v2/acme/gone/manifests/${provenance}`, {method: 'DELETE'})
    expect(deleted.status).toBe(202)

    const apply = await runCli(['apply', planPath, '--format', 'json'])
    expect(apply.exitCode).toBe(1)
    const [entry] = JSON.parse(apply.stdout).entries
    expect(entry.result).toEqual({kind: 'failed', message: `signature check failed, nothing was copied: required attestation ${SLSA_V1} was not found`})
    expect((await headManifest(target.url, mirrored('gone', 'acme/gone'), images['acme/gone']!.digest)).status).toBe(404)
  })
})

describe('verify --attestation-type', () => {
  const verify = (repo: string, ...extra: string[]) => runCli(['verify', `${source.host}/${repo}:1.0`, '--key', join(dir, 'vendor.pub'), ...extra])

  test('exit 0 when the signature and each asked attestation verify; registry text is neutralised', async () => {
    const run = await verify('acme/signed', '--attestation-type', SLSA_V1)
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('Verified: 1 signer (1 signature found)')
    expect(run.stdout).toContain(`Attestation ${SLSA_V1}: verified by key ${keyFingerprint(vendor.publicPem)}`)
    expect(run.stdout).toContain(`Also verified (attestations, not signatures): https://evil.example/\\x1b]0;pwned\\x07\\x1b[31m`)
    expect(run.stdout).not.toContain('\u001b')
  })

  test('exit 1 when an asked attestation is missing or signed by someone else', async () => {
    const missing = await verify('acme/no-slsa', '--attestation-type', SLSA_V1)
    expect(missing.exitCode).toBe(1)
    expect(missing.stdout).toContain(`Attestation ${SLSA_V1}: missing`)
    expect(missing.stdout).toContain('Not verified: a required attestation did not verify.')
    const foreign = await verify('acme/signed', '--attestation-type', SPDX)
    expect(foreign.exitCode).toBe(1)
    expect(foreign.stdout).toContain(`Attestation ${SPDX}: failed`)
  })

  test('cosign oci-1-1 attestation referrers (DSSE layers, artifactType in-toto) count as attestations', async () => {
    await seed('acme/oci11', [[COSIGN_SIGN, vendor]])
    const image = images['acme/oci11']!
    const envelope = blob(await attestationEnvelope(vendor, image.digest, SLSA_V1), DSSE)
    await push(
      source.url,
      'acme/oci11',
      referrer(image, {artifactType: 'application/vnd.in-toto+json', layers: [{blob: envelope, annotations: {[SIGNATURE_KEY]: '', predicateType: SLSA_V1}}]}),
    )
    const run = await verify('acme/oci11', '--attestation-type', SLSA_V1)
    expect(run.stdout).toContain(`Attestation ${SLSA_V1}: verified by key`)
    expect(run.exitCode).toBe(0)
  })

  test('an attestation is not a signature: verify without a signature fails and shows what did verify', async () => {
    const run = await verify('acme/att-only')
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('Not verified: no signature was found.')
    expect(run.stdout).toContain(`Also verified (attestations, not signatures): ${COSIGN_ATTESTATION}`)
    const usage = await verify('acme/signed', '--attestation-type', 'slsaprovenance')
    expect(usage.exitCode).not.toBe(0)
    expect(usage.stderr).toContain('--attestation-type expects a predicate type URI such as https://slsa.dev/provenance/v1, got "slsaprovenance"')
  })
})
