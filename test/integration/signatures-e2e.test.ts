/**
 * Signature policies end to end on loopback registries, through the CLI: a signed image is verified, copied
 * with its signatures and verifies at the mirror; an unsigned image under `required` and a tampered signature
 * under `if-present` are refused; `sign:` adds one signature and a second apply adds none.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {keyFingerprint} from '../../src/signatures/trust.ts'
import {getManifest, headManifest, makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {pushLegacySignature, writeSignedDefinition} from '../support/signed-images.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(60_000)

const vendor = makeKeyPair()
const mirrorKey = makeKeyPair()
let source: RealRegistry
let target: RealRegistry
let dir: string
const images = {
  signed: makeIndex({
    flavor: 'oci',
    platforms: [
      {os: 'linux', architecture: 'amd64'},
      {os: 'linux', architecture: 'arm64'},
    ],
  }),
  unsigned: makeImage({flavor: 'oci'}),
  tampered: makeImage({flavor: 'docker'}),
  wrongKey: makeImage({flavor: 'oci'}),
  toSign: makeImage({flavor: 'oci'}),
}

beforeAll(async () => {
  ;[source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-sig-'))
  await writeFile(join(dir, 'vendor.pub'), vendor.publicPem)
  await writeFile(join(dir, 'mirror.pub'), mirrorKey.publicPem)
  await writeFile(join(dir, 'mirror.key'), mirrorKey.privatePem)
  await pushIndex(source.url, 'acme/signed', images.signed, '1.0')
  await pushLegacySignature(source.url, 'acme/signed', images.signed.digest, vendor)
  await pushImage(source.url, 'acme/unsigned', images.unsigned, '1.0')
  await pushImage(source.url, 'acme/tampered', images.tampered, '1.0')
  await pushLegacySignature(source.url, 'acme/tampered', images.tampered.digest, vendor, 'payload')
  await pushImage(source.url, 'acme/other-key', images.wrongKey, '1.0')
  await pushLegacySignature(source.url, 'acme/other-key', images.wrongKey.digest, makeKeyPair())
  await pushImage(source.url, 'acme/to-sign', images.toSign, '1.0')
})
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()])
  if (dir) await rm(dir, {recursive: true, force: true})
})

const definition = (name: string, signatures: string, entries: string) => writeSignedDefinition(dir, target.host, name, signatures, entries)
const mirror = () => ['--mirror', `docker.io=${source.url}`]

describe('signature policies on loopback registries', () => {
  test('a signed image is verified, copied with its .sig, and verifies at the mirror', async () => {
    const def = await definition('signed.yaml', '  verify: required\n  keys: [./vendor.pub]', '- source: "acme/signed:1.0"')
    const planPath = join(dir, 'signed.plan.json')
    const plan = await runCli(['plan', '-i', def, '-o', planPath, ...mirror()])
    expect(plan.exitCode).toBe(0)
    expect(plan.stdout).toContain('verified: key sha256:')
    const entry = (await readPlan(planPath)).entries[0]!
    expect(entry.signature).toMatchObject({status: 'verified', found: 1, signers: [{kind: 'key', fingerprint: keyFingerprint(vendor.publicPem)}]})
    expect(entry.signature.policy.keys[0]!.pem).toBe(vendor.publicPem)

    const apply = await runCli(['apply', planPath, ...mirror(), '--format', 'json'])
    expect(apply.exitCode).toBe(0)
    expect(JSON.parse(apply.stdout).entries[0]).toMatchObject({result: {kind: 'copied'}, signature: {status: 'verified', copied: 1}})
    // The .sig image is copied byte for byte, so its digest is the source's.
    const tag = `${images.signed.digest.replace(':', '-')}.sig`
    const at = await headManifest(target.url, 'mirror/acme/signed', tag)
    expect(at.digest).toBe((await headManifest(source.url, 'acme/signed', tag)).digest)
    const verify = await runCli(['verify', `${target.host}/mirror/acme/signed:1.0`, '--key', join(dir, 'vendor.pub')])
    expect(verify.exitCode).toBe(0)
    expect(verify.stdout).toContain(`Verified: 1 signer`)
    expect(verify.stdout).toContain(keyFingerprint(vendor.publicPem))
  })

  test('an unsigned image under `required` fails plan (exit 1) and apply copies nothing', async () => {
    const def = await definition('unsigned.yaml', '  verify: required\n  keys: [./vendor.pub]', '- source: "acme/unsigned:1.0"')
    const planPath = join(dir, 'unsigned.plan.json')
    const plan = await runCli(['plan', '-i', def, '-o', planPath, ...mirror()])
    expect(plan.exitCode).toBe(1)
    expect(plan.stderr).toContain('verify is required but no signature was found')
    expect((await readPlan(planPath)).entries[0]!.signature.status).toBe('failed')
    const apply = await runCli(['apply', planPath, ...mirror(), '--format', 'json'])
    expect(apply.exitCode).toBe(1)
    expect(JSON.parse(apply.stdout).entries[0].result.message).toContain('signature check failed, nothing was copied')
    expect((await headManifest(target.url, 'mirror/acme/unsigned', '1.0')).status).toBe(404)
    expect((await headManifest(target.url, 'mirror/acme/unsigned', images.unsigned.digest)).status).toBe(404)
  })

  test('under `if-present`: unsigned proceeds, a tampered or foreign signature is refused', async () => {
    const def = await definition(
      'ifpresent.yaml',
      '  keys: [./vendor.pub]',
      ['- source: "acme/unsigned:1.0"\n  tag: "ip"', '- source: "acme/tampered:1.0"', '- source: "acme/other-key:1.0"'].join('\n'),
    )
    const planPath = join(dir, 'ifpresent.plan.json')
    const plan = await runCli(['plan', '-i', def, '-o', planPath, ...mirror()])
    expect(plan.exitCode).toBe(1)
    const statuses = (await readPlan(planPath)).entries.map((e) => [e.source, e.signature.status])
    expect(statuses).toEqual([
      ['acme/unsigned:1.0', 'unsigned'],
      ['acme/tampered:1.0', 'failed'],
      ['acme/other-key:1.0', 'failed'],
    ])
    const apply = JSON.parse((await runCli(['apply', planPath, ...mirror(), '--format', 'json'])).stdout)
    expect(apply.entries.map((e: {result: {kind: string}}) => e.result.kind)).toEqual(['copied', 'failed', 'failed'])
    expect((await headManifest(target.url, 'mirror/acme/tampered', '1.0')).status).toBe(404)
  })

  test('signatures found with nothing configured to verify them fail the entry (no silent trust)', async () => {
    const def = await definition('nokeys.yaml', '  copy: true', '- source: "acme/signed:1.0"\n  tag: "nokeys"')
    const run = await runCli(['plan', '-i', def, '-o', join(dir, 'nokeys.plan.json'), ...mirror()])
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain('no keys or identities are configured to verify them')
  })

  test('sign: adds one bundle signature to the mirror; applying again adds none', async () => {
    // Two entries of one digest, copied at once: the digest is signed once.
    const def = await definition(
      'sign.yaml',
      '  verify: skip\n  sign:\n    key: ./mirror.key',
      '- source: "acme/to-sign:1.0"\n- source: "acme/to-sign:1.0"\n  tag: "1.0-also"',
    )
    const planPath = join(dir, 'sign.plan.json')
    expect((await runCli(['plan', '-i', def, '-o', planPath, ...mirror()])).exitCode).toBe(0)
    const apply = await runCli(['apply', planPath, ...mirror(), '--format', 'json', '--concurrency', '2'])
    expect(apply.exitCode).toBe(0)
    expect(
      JSON.parse(apply.stdout)
        .entries.map((e: {signature: {signed: string}}) => e.signature.signed)
        .sort(),
    ).toEqual(['already-signed', 'signed'])
    // A later apply of another tag of the same digest finds the mirror's signature and adds none.
    const later = await definition('sign-later.yaml', '  verify: skip\n  sign:\n    key: ./mirror.key', '- source: "acme/to-sign:1.0"\n  tag: "1.0-later"')
    const laterPlan = join(dir, 'sign-later.plan.json')
    expect((await runCli(['plan', '-i', later, '-o', laterPlan, ...mirror()])).exitCode).toBe(0)
    const second = await runCli(['apply', laterPlan, ...mirror(), '--format', 'json'])
    expect(JSON.parse(second.stdout).entries[0]).toMatchObject({result: {kind: 'copied'}, signature: {signed: 'already-signed'}})
    const verify = await runCli(['verify', `${target.host}/mirror/acme/to-sign:1.0`, '--key', join(dir, 'mirror.pub'), '--format', 'json'])
    expect(verify.exitCode).toBe(0)
    expect(JSON.parse(verify.stdout).decision).toMatchObject({status: 'verified', found: 1})
    // docker-registry 2.8 has no referrers API: the bundle is listed in the sha256-<hex> fallback index.
    const fallback = await getManifest(target.url, 'mirror/acme/to-sign', images.toSign.digest.replace(':', '-'))
    expect(JSON.parse(new TextDecoder().decode(fallback.bytes)).manifests).toHaveLength(1)

    const again = await runCli(['sign', `${target.host}/mirror/acme/to-sign:1.0`, '--key', join(dir, 'mirror.key')])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('already signed by this signer; nothing added')
    const after = await runCli(['verify', `${target.host}/mirror/acme/to-sign:1.0`, '--key', join(dir, 'mirror.pub'), '--format', 'json'])
    expect(JSON.parse(after.stdout).decision.found).toBe(1)
  })

  test('verify exits 1 when nothing verifies', async () => {
    const run = await runCli(['verify', `${source.host}/acme/unsigned:1.0`, '--key', join(dir, 'vendor.pub')])
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('Not verified: no signature was found.')
  })
})
