/**
 * The air-gap workflow end to end, through the CLI, on loopback: a signed image (legacy `.sig` and a sigstore
 * bundle referrer) in a source docker-registry → `plan`/`apply` with an `oci:` target (a layout tree on disk) →
 * the same definition planned and applied into an internal docker-registry with `--mirror docker.io=oci:DIR/`,
 * `verify: required` on both sides. Also: a second plan shows already-present, a layout tag taken by other
 * content is never overwritten (plan and a stale apply), skopeo reads what apply wrote, a tree skopeo wrote is
 * a source, and a damaged or escaping layout writes nothing to the internal registry.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import type {Digest} from '../../src/ref/digest.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {pushReferrer} from '../../src/signatures/copy.ts'
import {makeGzipImage} from '../support/gzip-images.ts'
import {headManifest, type Image, pushImage} from '../support/images.ts'
import {storeImage} from '../support/layout.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {pushLegacySignature} from '../support/signed-images.ts'
import {skopeo, skopeoBinary} from '../support/skopeo.ts'
import {COSIGN_SIGN, statementBundle} from '../support/sigstore/statements.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {blob, BUNDLE_V03, loopbackClient, referrer} from './signature-fixtures.ts'
import {runCli} from './scenario.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)

const vendor = makeKeyPair()
let source: RealRegistry
let internal: RealRegistry
let dir: string
let app: Image
let other: Image
let bundleDigest: Digest

const DEFINITION = `targetRepoPrefix: "oci:./mirror/"
signatures:
  verify: required
  keys: [./vendor.pub]
images:
- source: "acme/app:1.0"
- source: "acme/other:1.0"
`

/** An image signed both ways cosign signs: a legacy `.sig` tag and a v3 bundle referrer (in the fallback index). */
async function seedSigned(repo: string, image: Image): Promise<Digest> {
  await pushImage(source.url, repo, image, '1.0')
  await pushLegacySignature(source.url, repo, image.digest, vendor)
  const bundle = blob(await statementBundle(vendor, image.digest, COSIGN_SIGN), BUNDLE_V03)
  const annotations = {'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': COSIGN_SIGN}
  const built = referrer(image, {artifactType: BUNDLE_V03, layers: [{blob: bundle, annotations: {}}], annotations})
  const handle = loopbackClient().repository({registry: source.host, repository: repo})
  return (
    await pushReferrer(
      handle,
      built.bytes,
      built.blobs.map((b) => b.bytes),
    )
  ).digest
}

beforeAll(async () => {
  skopeoBinary()
  ;[source, internal] = await Promise.all([startRealRegistry(), startRealRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-airgap-'))
  await writeFile(join(dir, 'vendor.pub'), vendor.publicPem)
  await writeFile(join(dir, 'external-images.yaml'), DEFINITION)
  app = makeGzipImage(crypto.randomUUID())
  other = makeGzipImage(crypto.randomUUID())
  bundleDigest = await seedSigned('acme/app', app)
  await seedSigned('acme/other', other)
})
afterAll(async () => {
  await Promise.all([source?.stop(), internal?.stop()])
  if (dir) await rm(dir, {recursive: true, force: true})
})

/** The CLI run from the definition's directory, so `oci:./mirror/` and `./vendor.pub` resolve there. */
const cli = (args: string[]) => runCli(args, {cwd: dir})
const fromSource = () => ['--mirror', `docker.io=${source.url}`]
const fromLayout = ['--mirror', 'docker.io=oci:./mirror/']
const internalPrefix = () => ['--target-repo-prefix', `${internal.host}/mirror/`]
const sigTag = (image: Image) => `${image.digest.replace(':', '-')}.sig`

describe('the air-gap workflow through an OCI layout tree', () => {
  test('outside: plan and apply write one layout per target repository, signatures and referrers included', async () => {
    const plan = await cli(['plan', '-i', 'external-images.yaml', '-o', 'outside.plan.json', ...fromSource()])
    expect(plan.stderr).toContain('Plan written to outside.plan.json')
    expect(plan.exitCode).toBe(0)
    const planned = await readPlan(join(dir, 'outside.plan.json'))
    expect(planned.targetRepoPrefix).toBe('oci:./mirror/')
    expect(planned.entries.map((e) => [e.action, e.signature.status, e.signature.found])).toStrictEqual([
      ['to-copy', 'verified', 2],
      ['to-copy', 'verified', 2],
    ])

    // Named at apply time, an oci: prefix binds the plan like a registry's: another directory is refused.
    const elsewhere = await cli(['apply', 'outside.plan.json', ...fromSource(), '--target-repo-prefix', 'oci:./elsewhere/'])
    expect(elsewhere.exitCode).not.toBe(0)
    expect(elsewhere.stderr).toContain('is not under --target-repo-prefix')
    const apply = await cli(['apply', 'outside.plan.json', ...fromSource(), '--target-repo-prefix', `oci:${join(dir, 'mirror')}`, '--format', 'json'])
    expect(apply.exitCode).toBe(0)
    expect(
      JSON.parse(apply.stdout).entries.map((e: {result: {kind: string}; signature: {copied: number}}) => [e.result.kind, e.signature.copied]),
    ).toStrictEqual([
      ['copied', 2],
      ['copied', 2],
    ])

    const layout = await openLayout(join(dir, 'mirror/acme/app'), {create: false, pace: testPace()})
    expect((await layout.headManifest('1.0'))?.digest).toBe(app.digest)
    expect((await layout.headManifest(sigTag(app)))?.digest).toBe((await headManifest(source.url, 'acme/app', sigTag(app))).digest as Digest)
    expect((await layout.listReferrers(app.digest)).map((d) => d.digest)).toStrictEqual([bundleDigest])

    const again = await cli(['plan', '-i', 'external-images.yaml', '-o', 'again.plan.json', ...fromSource()])
    expect(again.exitCode).toBe(0)
    expect((await readPlan(join(dir, 'again.plan.json'))).entries.map((e) => e.action)).toStrictEqual(['already-present', 'already-present'])

    const verify = await cli(['verify', 'oci:./mirror/acme/app:1.0', '--key', 'vendor.pub'])
    expect(verify.exitCode).toBe(0)
    expect(verify.stdout).toContain('Verified: 1 signer (2 signatures found)')
  })

  test('skopeo reads the layouts apply wrote and pushes them with every digest unchanged', async () => {
    expect(await skopeo(['inspect', '--raw', `oci:${join(dir, 'mirror/acme/app')}:1.0`])).toStrictEqual(app.bytes)
    await skopeo([
      'copy',
      '--all',
      `oci:${join(dir, 'mirror/acme/app')}:1.0`,
      `docker://${internal.host}/skopeo/app:1.0`,
      '--dest-tls-verify=false',
      '--dest-no-creds',
    ])
    expect((await headManifest(internal.url, 'skopeo/app', '1.0')).digest).toBe(app.digest)
  })

  test('inside: the same definition from the layout tree into the internal registry, verified again', async () => {
    const plan = await cli(['plan', '-i', 'external-images.yaml', '-o', 'inside.plan.json', ...fromLayout, ...internalPrefix()])
    expect(plan.stderr).toContain('Plan written to inside.plan.json')
    expect(plan.exitCode).toBe(0)
    const planned = await readPlan(join(dir, 'inside.plan.json'))
    expect(planned.entries.map((e) => [e.action, e.signature.status])).toStrictEqual([
      ['to-copy', 'verified'],
      ['to-copy', 'verified'],
    ])

    const apply = await cli(['apply', 'inside.plan.json', ...fromLayout, '--format', 'json'])
    expect(apply.exitCode).toBe(0)
    expect(JSON.parse(apply.stdout).entries.map((e: {result: {kind: string}}) => e.result.kind)).toStrictEqual(['copied', 'copied'])
    expect((await headManifest(internal.url, 'mirror/acme/app', '1.0')).digest).toBe(app.digest)
    expect((await headManifest(internal.url, 'mirror/acme/app', sigTag(app))).digest).toBe((await headManifest(source.url, 'acme/app', sigTag(app))).digest)
    expect(await headManifest(internal.url, 'mirror/acme/app', bundleDigest)).toMatchObject({status: 200})

    const again = await cli(['plan', '-i', 'external-images.yaml', '-o', 'inside-again.plan.json', ...fromLayout, ...internalPrefix()])
    expect(again.exitCode).toBe(0)
    expect((await readPlan(join(dir, 'inside-again.plan.json'))).entries.map((e) => e.action)).toStrictEqual(['already-present', 'already-present'])
    const verify = await cli(['verify', `${internal.host}/mirror/acme/app:1.0`, '--key', 'vendor.pub', '--insecure-registry', internal.host])
    expect(verify.exitCode).toBe(0)
  })

  test('a layout tag holding other content is never overwritten: plan shows the conflict, a stale apply leaves it', async () => {
    await writeFile(
      join(dir, 'late.yaml'),
      `targetRepoPrefix: "oci:./late/"\nsignatures:\n  verify: required\n  keys: [./vendor.pub]\nimages:\n- source: "acme/app:1.0"\n`,
    )
    const plan = await cli(['plan', '-i', 'late.yaml', '-o', 'late.plan.json', ...fromSource()])
    expect(plan.exitCode).toBe(0)
    // Another writer takes the tag after planning: apply must find it and leave it.
    const squatter = makeGzipImage(crypto.randomUUID())
    await storeImage(await openLayout(join(dir, 'late/acme/app'), {create: true, pace: testPace()}), squatter, '1.0')
    const apply = await cli(['apply', 'late.plan.json', ...fromSource(), '--format', 'json'])
    expect(JSON.parse(apply.stdout).entries[0].result).toStrictEqual({kind: 'conflict', targetDigest: squatter.digest})
    expect((await (await openLayout(join(dir, 'late/acme/app'), {create: false, pace: testPace()})).headManifest('1.0'))?.digest).toBe(squatter.digest)
    const replan = await cli(['plan', '-i', 'late.yaml', '-o', 'late-again.plan.json', ...fromSource()])
    expect((await readPlan(join(dir, 'late-again.plan.json'))).entries[0]!.action).toBe('conflicting-ID')
    expect(replan.exitCode).not.toBe(0)
  })

  test('a damaged layout tree is refused with its path, and nothing is written to the internal registry', async () => {
    await cp(join(dir, 'mirror'), join(dir, 'damaged'), {recursive: true})
    const layer = app.layers[0]!.digest.split(':')[1]!
    const path = join(dir, 'damaged/acme/app/blobs/sha256', layer)
    const bytes = await readFile(path)
    bytes[bytes.length - 1]! ^= 0xff
    await writeFile(path, bytes)
    await writeFile(
      join(dir, 'damaged.yaml'),
      `targetRepoPrefix: "${internal.host}/damaged/"\nsignatures:\n  verify: required\n  keys: [./vendor.pub]\nimages:\n- source: "acme/app:1.0"\n`,
    )
    const from = ['--mirror', 'docker.io=oci:./damaged/']
    const plan = await cli(['plan', '-i', 'damaged.yaml', '-o', 'damaged.plan.json', ...from])
    expect(plan.exitCode).toBe(0)
    const apply = await cli(['apply', 'damaged.plan.json', ...from, '--format', 'json'])
    expect(apply.exitCode).not.toBe(0)
    const result = JSON.parse(apply.stdout).entries[0].result
    expect(result.kind).toBe('failed')
    expect(result.message).toContain(path)
    expect(await headManifest(internal.url, 'damaged/acme/app', '1.0')).toMatchObject({status: 404})
    // Read through before writing: not even the config blob reached the internal registry.
    expect((await fetch(`${internal.url}/v2/damaged/acme/app/blobs/${app.config.digest}`, {method: 'HEAD'})).status).toBe(404)
  })

  test('a source tree that is not a layout, or that leads outside itself, is named in one sentence', async () => {
    const missing = await cli(['plan', '-i', 'external-images.yaml', '-o', 'none.plan.json', '--mirror', 'docker.io=oci:./nothing/', ...internalPrefix()])
    expect(missing.exitCode).not.toBe(0)
    expect(missing.stderr).toContain(`${join(dir, 'nothing/acme/app')} does not exist, so it is not an OCI image layout`)

    await cp(join(dir, 'mirror'), join(dir, 'escape'), {recursive: true})
    const manifest = join(dir, 'escape/acme/app/blobs/sha256', app.digest.split(':')[1]!)
    await cp(manifest, join(dir, 'outside-the-tree'))
    await rm(manifest)
    await symlink(join(dir, 'outside-the-tree'), manifest)
    const escaping = await cli(['plan', '-i', 'external-images.yaml', '-o', 'escape.plan.json', '--mirror', 'docker.io=oci:./escape/', ...internalPrefix()])
    expect(escaping.exitCode).not.toBe(0)
    expect(escaping.stderr).toContain(manifest)
  })

  test('a tree written by skopeo copy --all is a source too, digests unchanged', async () => {
    const layoutDir = join(dir, 'skopeo-tree/acme/app')
    await mkdir(layoutDir, {recursive: true})
    await skopeo(['copy', '--all', `docker://${source.host}/acme/app:1.0`, `oci:${layoutDir}:1.0`, '--src-tls-verify=false', '--src-no-creds'])
    await writeFile(join(dir, 'from-skopeo.yaml'), `targetRepoPrefix: "${internal.host}/from-skopeo/"\nimages:\n- source: "acme/app:1.0"\n`)
    const from = ['--mirror', 'docker.io=oci:./skopeo-tree/']
    const plan = await cli(['plan', '-i', 'from-skopeo.yaml', '-o', 'from-skopeo.plan.json', ...from])
    expect(plan.exitCode).toBe(0)
    expect((await readPlan(join(dir, 'from-skopeo.plan.json'))).entries[0]).toMatchObject({action: 'to-copy', sourceDigest: app.digest})
    const apply = await cli(['apply', 'from-skopeo.plan.json', ...from])
    expect(apply.exitCode).toBe(0)
    expect((await headManifest(internal.url, 'from-skopeo/acme/app', '1.0')).digest).toBe(app.digest)
  })
})
