/**
 * A platform subset's signatures on loopback registries, through the CLI: signatures on each kept platform
 * manifest verify the entry and are carried to the mirror per child; one signed platform does not vouch for
 * another; the new index is unsigned unless `sign:` signs it.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {headManifest, makeIndex, pushIndex} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {pushLegacySignature, writeSignedDefinition} from '../support/signed-images.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(60_000)

const vendor = makeKeyPair()
const mirrorKey = makeKeyPair()
const PLATFORMS = [
  {os: 'linux', architecture: 'amd64'},
  {os: 'linux', architecture: 'arm64', variant: 'v8'},
  {os: 'linux', architecture: 'arm', variant: 'v7'},
]
const perChild = makeIndex({flavor: 'oci', platforms: PLATFORMS, attestation: true})
const partly = makeIndex({flavor: 'oci', platforms: PLATFORMS})
let source: RealRegistry
let target: RealRegistry
let dir: string

beforeAll(async () => {
  ;[source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-platform-sig-'))
  await writeFile(join(dir, 'vendor.pub'), vendor.publicPem)
  await writeFile(join(dir, 'mirror.pub'), mirrorKey.publicPem)
  await writeFile(join(dir, 'mirror.key'), mirrorKey.privatePem)
  await pushIndex(source.url, 'acme/per-child', perChild, '1.0')
  // amd64 and arm64 are signed one by one; arm/v7, which the subset drops, is not.
  for (const child of perChild.children.slice(0, 2)) await pushLegacySignature(source.url, 'acme/per-child', child.digest, vendor)
  await pushIndex(source.url, 'acme/partly', partly, '1.0')
  await pushLegacySignature(source.url, 'acme/partly', partly.children[0]!.digest, vendor)
})
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()])
  if (dir) await rm(dir, {recursive: true, force: true})
})

const definition = (name: string, signatures: string, entries: string) => writeSignedDefinition(dir, target.host, name, signatures, entries)
const mirror = () => ['--mirror', `docker.io=${source.url}`]
const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`

describe('platform subsets and signatures', () => {
  test('each kept manifest signed: verified, signatures carried per child, the new index signed by sign: alone', async () => {
    const def = await definition(
      'per-child.yaml',
      '  verify: required\n  keys: [./vendor.pub]\n  sign:\n    key: ./mirror.key',
      '- source: "acme/per-child:1.0"\n  platforms: [linux/amd64, linux/arm64]',
    )
    const planPath = join(dir, 'per-child.plan.json')
    expect((await runCli(['plan', '-i', def, '-o', planPath, ...mirror()])).exitCode).toBe(0)
    const entry = (await readPlan(planPath)).entries[0]!
    expect(entry.signature).toMatchObject({status: 'verified', found: 2})

    const apply = await runCli(['apply', planPath, ...mirror(), '--format', 'json'])
    expect(apply.exitCode).toBe(0)
    expect(JSON.parse(apply.stdout).entries[0]).toMatchObject({result: {kind: 'copied'}, signature: {status: 'verified', copied: 2, signed: 'signed'}})
    for (const child of perChild.children.slice(0, 2)) {
      expect((await headManifest(target.url, 'mirror/acme/per-child', sigTag(child.digest))).digest).toBe(
        (await headManifest(source.url, 'acme/per-child', sigTag(child.digest))).digest,
      )
    }
    // The new index carries the mirror's signature only: no one upstream signed it.
    const byMirror = await runCli(['verify', `${target.host}/mirror/acme/per-child:1.0`, '--key', join(dir, 'mirror.pub'), '--format', 'json'])
    expect(JSON.parse(byMirror.stdout).decision).toMatchObject({status: 'verified', found: 1})
    const byVendor = await runCli(['verify', `${target.host}/mirror/acme/per-child:1.0`, '--key', join(dir, 'vendor.pub'), '--format', 'json'])
    expect(byVendor.exitCode).toBe(1)
  })

  test('one signed platform does not vouch for another: the entry fails and nothing is copied', async () => {
    const def = await definition(
      'partly.yaml',
      '  verify: required\n  keys: [./vendor.pub]',
      '- source: "acme/partly:1.0"\n  platforms: [linux/amd64, linux/arm64]',
    )
    const run = await runCli(['plan', '-i', def, '-o', join(dir, 'partly.plan.json'), ...mirror()])
    expect(run.exitCode).toBe(1)
    expect(run.stdout + run.stderr).toContain(`nor every kept platform manifest has a verified signature (none on ${partly.children[1]!.digest})`)
  })
})
