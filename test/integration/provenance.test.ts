/**
 * Provenance at the mirror (issue 20 part 1), through the CLI: with `provenance: true`, apply attaches a SLSA
 * provenance v1 statement, signed with `sign:`, to each target digest, in a real docker-registry (no referrers API:
 * the fallback tag) and in a layout (untagged); our `verify` and, independently, `@sigstore/verify` accept it
 * against the signer's key; its subject is the target digest; a second apply adds nothing; a digest already
 * present gets the statement it lacks; forged statements next to the image are reported.
 */
import {serializePlan} from '../../src/plan/planfile.ts'
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {createPublicKey} from 'node:crypto'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {bundleFromJSON} from '@sigstore/bundle'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {toSignedEntity, toTrustMaterial, Verifier} from '@sigstore/verify'
import {digestOf, type Digest} from '../../src/ref/digest.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {pushReferrer} from '../../src/signatures/copy.ts'
import {keyFingerprint} from '../../src/signatures/trust.ts'
import {getManifest, headManifest, type Image, makeImage, pushImage} from '../support/images.ts'
import {testPace} from '../support/pace.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {pushLegacySignature} from '../support/signed-images.ts'
import {SLSA_V1, statementBundle} from '../support/sigstore/statements.ts'
import {makeKeyPair, type TestKeyPair} from '../support/sigstore/test-keys.ts'
import {blob, BUNDLE_V03, loopbackClient, referrer} from './signature-fixtures.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(60_000)

const vendor = makeKeyPair()
const mirrorKey = makeKeyPair()
const stranger = makeKeyPair()
let source: RealRegistry
let target: RealRegistry
let dir: string
const images = {nginx: makeImage({flavor: 'oci'}), present: makeImage({flavor: 'oci'}), layout: makeImage({flavor: 'docker'})}

beforeAll(async () => {
  ;[source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-provenance-'))
  await writeFile(join(dir, 'vendor.pub'), vendor.publicPem)
  await writeFile(join(dir, 'mirror.pub'), mirrorKey.publicPem)
  await writeFile(join(dir, 'mirror.key'), mirrorKey.privatePem)
  for (const [repo, image] of [
    ['library/nginx', images.nginx],
    ['acme/present', images.present],
    ['acme/layout', images.layout],
  ] as const) {
    await pushImage(source.url, repo, image, '1.27.3')
    await pushLegacySignature(source.url, repo, image.digest, vendor)
  }
})
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()])
  if (dir) await rm(dir, {recursive: true, force: true})
})

const cli = (args: string[]) => runCli(args, {cwd: dir})
const mirror = () => ['--mirror', `docker.io=${source.url}`]
const POLICY = 'signatures:\n  verify: required\n  keys: [./vendor.pub]\n  sign:\n    key: ./mirror.key\n'

async function definition(name: string, prefix: string, images: string, policy = `${POLICY}  provenance: true\n`): Promise<string> {
  await writeFile(join(dir, name), `targetRepoPrefix: "${prefix}"\n${policy}images:\n${images}\n`)
  return name
}

async function planAndApply(def: string, planName: string) {
  const plan = await cli(['plan', '-i', def, '-o', planName, ...mirror()])
  expect(plan.exitCode).toBe(0)
  const apply = await cli(['apply', planName, ...mirror(), '--format', 'json'])
  expect(apply.exitCode).toBe(0)
  return JSON.parse(apply.stdout).entries as Array<{result: {kind: string}; signature: {provenance?: string; signed: string}}>
}

const verifyProvenance = (image: string, extra: string[] = [], key = 'mirror.pub') =>
  cli(['verify', image, '--key', key, '--attestation-type', SLSA_V1, '--format', 'json', ...extra])

/** `@sigstore/verify` alone, with the signer's public key and no trusted root at all: what any consumer can do. */
function verifyIndependently(bundleBytes: Uint8Array, key: TestKeyPair): Record<string, unknown> {
  const bundle = bundleFromJSON(JSON.parse(new TextDecoder().decode(bundleBytes)))
  const emptyRoot = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  })
  const material = toTrustMaterial(emptyRoot, () => ({publicKey: createPublicKey(key.publicPem), validFor: () => true}))
  new Verifier(material, {tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0}).verify(toSignedEntity(bundle))
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE bundle')
  return JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8'))
}

/** The provenance bundles next to `digest` in the target registry: from the fallback index (docker-registry 2.8). */
async function provenanceBundles(repo: string, digest: Digest): Promise<Uint8Array[]> {
  const fallback = await getManifest(target.url, repo, digest.replace(':', '-'))
  const listed = JSON.parse(new TextDecoder().decode(fallback.bytes)).manifests as Array<{digest: string}>
  const bundles: Uint8Array[] = []
  for (const d of listed) {
    const manifest = JSON.parse(new TextDecoder().decode((await getManifest(target.url, repo, d.digest)).bytes))
    if (manifest.annotations?.['dev.sigstore.bundle.predicateType'] !== SLSA_V1) continue
    const layer = await fetch(`${target.url}/v2/${repo}/blobs/${manifest.layers[0].digest}`)
    bundles.push(new Uint8Array(await layer.arrayBuffer()))
  }
  return bundles
}

const hexOf = (digest: string) => digest.split(':')[1]

describe('provenance at the mirror', () => {
  test('apply attaches a verifiable SLSA provenance to the target digest; a second apply adds nothing', async () => {
    const def = await definition('nginx.yaml', `${target.host}/external/`, '- source: "nginx:1.27.3"')
    const entries = await planAndApply(def, 'nginx.plan.json')
    expect(entries[0]).toMatchObject({result: {kind: 'copied'}, signature: {status: 'verified', signed: 'signed', provenance: 'attached'}})
    const image = `${target.host}/external/library/nginx:1.27.3`

    const verified = await verifyProvenance(image, ['--source', 'docker.io/library/nginx'])
    expect(verified.exitCode).toBe(0)
    const result = JSON.parse(verified.stdout)
    expect(result.decision.attestations).toMatchObject([{predicateType: SLSA_V1, status: 'verified'}])
    expect(result.rejected).toEqual([])
    const [statement] = result.statements.map((s: {statement: unknown}) => s.statement)
    expect(statement.subject).toEqual([{name: `${target.host}/external/library/nginx`, digest: {sha256: hexOf(images.nginx.digest)}}])
    const {buildDefinition, runDetails} = statement.predicate
    expect(buildDefinition.buildType).toBe('urn:image-syncer:mirror:v1')
    expect(buildDefinition.externalParameters).toMatchObject({
      source: 'nginx:1.27.3',
      target: image,
      platforms: {kind: 'whole'},
      definition: {path: def, sha256: digestOf(await readFile(join(dir, def)))},
      plan: {sha256: digestOf(await readFile(join(dir, 'nginx.plan.json')))},
      signaturePolicy: {verify: 'required', keys: [keyFingerprint(vendor.publicPem)]},
    })
    expect(buildDefinition.resolvedDependencies).toEqual([
      {
        name: 'source',
        uri: `docker.io/library/nginx@${images.nginx.digest}`,
        digest: {sha256: hexOf(images.nginx.digest)},
        annotations: {signatures: {status: 'verified', signers: [{kind: 'key', fingerprint: keyFingerprint(vendor.publicPem)}]}},
      },
    ])
    expect(runDetails.builder.version['image-syncer']).toBeString()

    // Independently of our code: @sigstore/verify with the mirror's key accepts the bundle, about the target digest.
    const bundles = await provenanceBundles('external/library/nginx', images.nginx.digest)
    expect(bundles).toHaveLength(1)
    const independent = verifyIndependently(bundles[0]!, mirrorKey)
    expect(independent['predicateType']).toBe(SLSA_V1)
    expect(independent['subject']).toEqual(statement.subject)
    expect(() => verifyIndependently(bundles[0]!, stranger)).toThrow()

    // Another source than the one recorded is refused.
    const otherSource = await verifyProvenance(image, ['--source', 'docker.io/library/httpd'])
    expect(otherSource.exitCode).toBe(1)
    expect(JSON.parse(otherSource.stdout).decision.reasons.join(' ')).toContain('no verified provenance names the source docker.io/library/httpd')

    // Again: planned present, provenance found, nothing added.
    const again = await planAndApply(def, 'nginx-again.plan.json')
    expect(again[0]).toMatchObject({result: {kind: 'already-present'}, signature: {provenance: 'already-attached'}})
    expect(await provenanceBundles('external/library/nginx', images.nginx.digest)).toHaveLength(1)
  })

  test('a digest mirrored before provenance was turned on gets the statement it lacks, once', async () => {
    const before = await definition('present-off.yaml', `${target.host}/external/`, '- source: "acme/present:1.27.3"', POLICY)
    expect((await planAndApply(before, 'present-off.plan.json'))[0]).toMatchObject({result: {kind: 'copied'}, signature: {signed: 'signed'}})
    expect((await planAndApply(before, 'present-off.plan.json'))[0]!.signature).toBeNull()
    const image = `${target.host}/external/acme/present:1.27.3`
    expect((await verifyProvenance(image)).exitCode).toBe(1)

    const on = await definition('present-on.yaml', `${target.host}/external/`, '- source: "acme/present:1.27.3"')
    const entries = await planAndApply(on, 'present-on.plan.json')
    expect(entries[0]).toMatchObject({result: {kind: 'already-present'}, signature: {status: 'verified', provenance: 'attached'}})
    expect((await verifyProvenance(image, ['--source', 'docker.io/acme/present'])).exitCode).toBe(0)
    expect((await planAndApply(on, 'present-on.plan.json'))[0]).toMatchObject({signature: {provenance: 'already-attached'}})
    expect(await provenanceBundles('external/acme/present', images.present.digest)).toHaveLength(1)
  })

  test('forged statements next to the image are reported: another key, or a statement about another digest', async () => {
    const forged = makeImage({flavor: 'oci'})
    await pushImage(target.url, 'external/acme/forged', forged, '1.0')
    const handle = loopbackClient().repository({registry: target.host, repository: 'external/acme/forged'})
    const attach = async (bundle: Uint8Array, onto: Image) => {
      const built = referrer(onto, {
        artifactType: BUNDLE_V03,
        layers: [{blob: blob(bundle, BUNDLE_V03), annotations: {}}],
        annotations: {'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': SLSA_V1},
      })
      await pushReferrer(
        handle,
        built.bytes,
        built.blobs.map((b) => b.bytes),
      )
    }
    // Signed by a stranger, about the right digest.
    await attach(await statementBundle(stranger, forged.digest, SLSA_V1), forged)
    const image = `${target.host}/external/acme/forged:1.0`
    const strangerOnly = await verifyProvenance(image)
    expect(strangerOnly.exitCode).toBe(1)
    expect(JSON.parse(strangerOnly.stdout).rejected).toHaveLength(1)
    // Signed with the mirror's key, but about another image: a statement moved here from elsewhere.
    await attach(await statementBundle(mirrorKey, images.nginx.digest, SLSA_V1), forged)
    const moved = await verifyProvenance(image)
    expect(moved.exitCode).toBe(1)
    const result = JSON.parse(moved.stdout)
    expect(result.rejected).toHaveLength(2)
    expect(result.rejected.map((r: {reason: string}) => r.reason).join(' ')).toContain(`subjects do not include ${forged.digest}`)
    const table = await cli(['verify', image, '--key', 'mirror.pub', '--attestation-type', SLSA_V1])
    expect(table.stdout).toContain(`Rejected ${SLSA_V1}`)
  })

  test('into a layout: the provenance is an untagged referrer, verifies, and is not added twice', async () => {
    const def = await definition('layout.yaml', 'oci:./mirror/', '- source: "acme/layout:1.27.3"')
    expect((await planAndApply(def, 'layout.plan.json'))[0]).toMatchObject({result: {kind: 'copied'}, signature: {provenance: 'attached'}})
    const layout = await openLayout(join(dir, 'mirror/acme/layout'), {create: false, pace: testPace()})
    const referrers = await layout.listReferrers(images.layout.digest)
    const provenance = referrers.filter((d) => d.annotations?.['dev.sigstore.bundle.predicateType'] === SLSA_V1)
    expect(provenance).toHaveLength(1)
    const index = JSON.parse(await readFile(join(dir, 'mirror/acme/layout/index.json'), 'utf8')).manifests as Array<{digest: string; annotations?: object}>
    expect(index.find((m) => m.digest === provenance[0]!.digest)?.annotations).not.toHaveProperty(['org.opencontainers.image.ref.name'])

    const verified = await verifyProvenance('oci:./mirror/acme/layout:1.27.3', ['--source', 'docker.io/acme/layout'])
    expect(verified.exitCode).toBe(0)
    expect(JSON.parse(verified.stdout).statements[0].statement.subject[0].digest).toEqual({sha256: hexOf(images.layout.digest)})
    const manifest = await layout.getManifest(provenance[0]!.digest)
    const bundleDigest = JSON.parse(new TextDecoder().decode(manifest.bytes)).layers[0].digest
    const bundle = await readFile(join(dir, 'mirror/acme/layout/blobs', ...bundleDigest.split(':')))
    expect(verifyIndependently(bundle, mirrorKey)['subject']).toEqual([{name: expect.any(String), digest: {sha256: hexOf(images.layout.digest)}}])

    expect((await planAndApply(def, 'layout-again.plan.json'))[0]).toMatchObject({signature: {provenance: 'already-attached'}})
    expect((await layout.listReferrers(images.layout.digest)).filter((d) => d.annotations?.['dev.sigstore.bundle.predicateType'] === SLSA_V1)).toHaveLength(1)
    expect((await headManifest(target.url, 'external/acme/layout', '1.27.3')).status).toBe(404)
  })

  test('sync, which copies content while it still plans, attaches the same provenance once the plan is whole', async () => {
    const def = await definition('sync.yaml', `${target.host}/synced/`, '- source: "nginx:1.27.3"')
    const run = await cli(['sync', '-i', def, ...mirror(), '--format', 'json'])
    expect(run.exitCode).toBe(0)
    const {plan, apply} = JSON.parse(run.stdout)
    expect(apply.entries[0]).toMatchObject({result: {kind: 'copied'}, signature: {status: 'verified', provenance: 'attached'}})
    const verified = await verifyProvenance(`${target.host}/synced/library/nginx:1.27.3`, ['--source', 'docker.io/library/nginx'])
    expect(verified.exitCode).toBe(0)
    const [statement] = JSON.parse(verified.stdout).statements.map((s: {statement: unknown}) => s.statement)
    // The plan sync made and applied, as plan would write it: the sha256 provenance names is that file's.
    expect(statement.predicate.buildDefinition.externalParameters.plan).toEqual({sha256: digestOf(new TextEncoder().encode(serializePlan(plan)))})
    expect(await provenanceBundles('synced/library/nginx', images.nginx.digest)).toHaveLength(1)
  })
})
