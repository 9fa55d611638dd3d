/**
 * The personalities' quirks that only show in particular runs (test/support/fake-registry/personalities/, where
 * each is cited): Quay as a source, whose referrers API answers empty while signatures sit in the fallback tag;
 * Docker Hub's 429 `toomanyrequests`, waited out on a test pace; immutable tags refusing the one tag write the
 * tool does make over an existing tag (merging legacy signatures); Nexus refusing an OCI artifact.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Digest} from '../../src/ref/digest.ts'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {startDockerHub, startEcr, startHarbor, startNexus, startQuay} from '../support/fake-registry/personalities/index.ts'
import {type Image, makeImage, pushImage} from '../support/images.ts'
import {testPace} from '../support/pace.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {cleanUpAfterEach, planApplyReplan, stopAfter, storedDigest} from './personality-cycle.ts'
import {runCli} from './scenario.ts'
import {fallbackTagOf, legacyImage, push, sigLayer, simpleSigningPayload} from './signature-fixtures.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

/** Stores `image` in `registry` under `tag` without a push (the personality may want a login for one). */
function seed(registry: FakeRegistry, repository: string, image: Image, tag: string): void {
  for (const blob of [image.config, ...image.layers]) registry.putBlob(repository, blob.bytes)
  registry.putManifest(repository, tag, image.bytes, image.mediaType)
}

/** The digests a fallback index `sha256-<hex>` of `subject` lists in `registry`. */
function fallbackEntries(registry: FakeRegistry, repository: string, subject: Digest): string[] {
  const stored = registry.storage.getManifest(repository, fallbackTagOf(subject))
  if (!stored) return []
  return (JSON.parse(new TextDecoder().decode(stored.bytes)) as {manifests: {digest: string}[]}).manifests.map((d) => d.digest)
}

describe('Quay as the source', () => {
  test('its referrers API answers empty, the signature is in the fallback tag: found, verified and copied', async () => {
    const quay = stopAfter(await startQuay())
    const target = stopAfter(await startFakeRegistry())
    const image = makeImage({flavor: 'oci'})
    await pushImage(quay.url, 'acme/app', image, '1')
    const keys = await mkdtemp(join(tmpdir(), 'image-syncer-quay-'))
    stopAfter({stop: () => rm(keys, {recursive: true, force: true})})
    const vendor = makeKeyPair()
    await writeFile(join(keys, 'vendor.key'), vendor.privatePem)
    await writeFile(join(keys, 'vendor.pub'), vendor.publicPem)
    expect((await runCli(['sign', `${quay.host}/acme/app:1`, '--key', join(keys, 'vendor.key')])).exitCode).toBe(0)
    // Quay sent no OCI-Subject, so the signer kept the fallback tag; its API still lists nothing.
    const [bundle] = fallbackEntries(quay, 'acme/app', image.digest)
    expect(bundle).toBeDefined()
    const listing = await fetch(`${quay.url}/v2/acme/app/referrers/${image.digest}`)
    expect(((await listing.json()) as {manifests: unknown[]}).manifests).toEqual([])

    const cycle = await planApplyReplan({
      images: `- source: "${quay.host}/acme/app:1"\n  target: "acme/app"\n  signatures:\n    verify: required\n    keys: ["${join(keys, 'vendor.pub')}"]`,
      targetPrefix: `${target.host}/mirror/`,
    })

    expect(cycle.planned.entries[0]!.signature.status).toBe('verified')
    expect(cycle.applied.entries[0]!.result.kind).toBe('copied')
    expect(cycle.applied.entries[0]!.signature).toMatchObject({status: 'verified', copied: 1})
    expect(storedDigest(target, 'mirror/acme/app', '1')).toBe(image.digest)
    expect(storedDigest(target, 'mirror/acme/app', bundle!)).toBe(bundle!)
    // The target has no referrers API: the tool wrote its fallback index there.
    expect(fallbackEntries(target, 'mirror/acme/app', image.digest)).toEqual([bundle!])
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present'])
  })
})

describe('Docker Hub 429 toomanyrequests', () => {
  async function hubWithAlpine(retryAfterSeconds: number) {
    const hub = await startDockerHub({limit: 100, remaining: 100, retryAfterSeconds})
    stopAfter(hub.registry)
    const image = makeImage({flavor: 'docker'})
    seed(hub.registry, 'library/alpine', image, '3')
    const target = stopAfter(await startFakeRegistry())
    return {hub, image, target, flags: ['--mirror', `docker.io=${hub.registry.url}`]}
  }

  test('the pause equals Retry-After, and the run succeeds once the limit resets', async () => {
    const {hub, image, target, flags} = await hubWithAlpine(17)
    const pace = testPace()
    // The budget is spent elsewhere after the plan, and resets while the run waits.
    const resetting = {
      ...pace,
      sleep: async (ms: number, signal?: AbortSignal) => {
        await pace.sleep(ms, signal)
        hub.pulls.remaining = hub.pulls.limit
      },
    }
    const cycle = await planApplyReplan({
      images: '- source: "alpine:3"',
      targetPrefix: `${target.host}/mirror/`,
      flags,
      pace: resetting,
      beforeApply: () => {
        hub.pulls.remaining = 0
      },
    })

    expect(cycle.applyExit).toBe(0)
    expect(cycle.applied.entries.map((e) => e.result.kind)).toEqual(['copied'])
    expect(storedDigest(target, 'mirror/library/alpine', '3')).toBe(image.digest)
    expect(hub.registry.requests.filter((r) => r.status === 429).length).toBe(1)
    // The 429's own pause is what Retry-After asked; requests to that host meanwhile wait out what is left of it.
    expect(pace.sleeps[0]).toBe(17_000)
    for (const pause of pace.sleeps) expect(pause).toBeLessThanOrEqual(17_000)
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present'])
  })

  test('a 429 that lasts fails the entry in one sentence, after the pauses Retry-After asked for', async () => {
    const {hub, target, flags} = await hubWithAlpine(9)
    const pace = testPace()
    const cycle = await planApplyReplan({
      images: '- source: "alpine:3"',
      targetPrefix: `${target.host}/mirror/`,
      flags,
      pace,
      beforeApply: () => {
        hub.pulls.remaining = 0
      },
      afterApply: () => {
        hub.pulls.remaining = hub.pulls.limit
      },
    })

    expect(cycle.applyExit).toBe(1)
    expect(cycle.applied.entries[0]!.result).toEqual({
      kind: 'failed',
      message: `${hub.registry.host} refused more requests (rate limit, toomanyrequests): wait until its limit resets or log in to it for a higher one, then run apply again; nothing was tagged`,
    })
    // Every attempt but the last waited what Retry-After asked (the default policy: 5 attempts); other requests to
    // that host meanwhile wait out what is left of the pause.
    expect(pace.sleeps.filter((pause) => pause === 9_000).length).toBeGreaterThanOrEqual(4)
    for (const pause of pace.sleeps) expect(pause).toBeLessThanOrEqual(9_000)
    expect(target.storage.getManifest('mirror/library/alpine', '3')).toBeUndefined()
    expect(cycle.applyStderr).toContain(`${hub.registry.host}: rate limited (429), waiting 9 s as Retry-After asks`)
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['to-copy'])
  })

  test('a 429 that lasts while planning fails the entry with the same sentence, naming plan as what to run again', async () => {
    const {hub, target, flags} = await hubWithAlpine(9)
    hub.pulls.remaining = 0
    const dir = await mkdtemp(join(tmpdir(), 'image-syncer-hub-plan-'))
    stopAfter({stop: () => rm(dir, {recursive: true, force: true})})
    const definition = join(dir, 'hub.yaml')
    await writeFile(definition, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n- source: "alpine:3"\n`)
    const plan = await runCli(['plan', '-i', definition, '-o', join(dir, 'hub.plan.json'), ...flags], {pace: testPace()})
    expect(plan.exitCode).toBe(1)
    expect(plan.stderr).toContain(
      `${hub.registry.host} refused more requests (rate limit, toomanyrequests): wait until its limit resets or log in to it for a higher one, then run plan again`,
    )
    expect(plan.stderr).not.toContain('TOOMANYREQUESTS')
  })
})

/**
 * The one tag write the tool makes over an existing tag: merging the source's legacy signatures into the
 * target's `sha256-<hex>.sig` (signature copy, src/signatures/copy.ts). The image is at the target under tag 1
 * with one signature; tag 2 of the same digest comes with two.
 */
async function legacySignedPair(target: FakeRegistry, repository: string) {
  const source = stopAfter(await startFakeRegistry())
  const image = makeImage({flavor: 'oci'})
  await pushImage(source.url, 'acme/app', image, '2')
  const layer = (note: string, sig: string) => sigLayer(simpleSigningPayload('acme/app', image.digest, note), sig)
  const both = legacyImage([layer('first', 'MEUCIQfirst'), layer('second', 'MEUCIQsecond')])
  const one = legacyImage([layer('first', 'MEUCIQfirst')])
  const sigTag = `${image.digest.replace(':', '-')}.sig`
  await push(source.url, 'acme/app', both, sigTag)
  seed(target, repository, image, '1')
  for (const blob of one.blobs) target.putBlob(repository, blob.bytes)
  target.putManifest(repository, sigTag, one.bytes, one.mediaType)
  return {image, one, sigTag, flags: ['--mirror', `docker.io=${source.url}`]}
}

const skipVerify = '\n  signatures:\n    verify: skip'

describe('immutable tags refuse the merge of legacy signatures', () => {
  test('ECR (400 TAG_INVALID): the entry fails saying the tag is immutable; nothing is overwritten', async () => {
    const ecr = await startEcr({blobMounting: 'disabled', password: 'ecr-token'})
    stopAfter(ecr.registry)
    ecr.createRepository('mirror/acme/app', {tagMutability: 'IMMUTABLE'})
    const pair = await legacySignedPair(ecr.registry, 'mirror/acme/app')
    const cycle = await planApplyReplan({
      images: `- source: "acme/app:2"${skipVerify}`,
      targetPrefix: `${ecr.registry.host}/mirror/`,
      logins: {[ecr.registry.host]: ['AWS', 'ecr-token']},
      flags: pair.flags,
    })

    expect(cycle.applied.entries[0]!.result).toEqual({
      kind: 'failed',
      message: `${ecr.registry.host} refused to write tag ${pair.sigTag} of mirror/acme/app: its tags are immutable there and the tag exists already, or the name is not valid there; nothing was overwritten (TAG_INVALID: The image tag '${pair.sigTag}' already exists in the 'mirror/acme/app' repository and cannot be overwritten because the repository is immutable.)`,
    })
    expect(storedDigest(ecr.registry, 'mirror/acme/app', pair.sigTag)).toBe(pair.one.digest)
  })

  test('Harbor (412 DENIED): told as an immutable tag, not as a tag that kept changing', async () => {
    const harbor = await startHarbor({users: {admin: 'Harbor12345'}})
    stopAfter(harbor.registry)
    harbor.createProject('mirror')
    harbor.makeTagsImmutable('mirror')
    const pair = await legacySignedPair(harbor.registry, 'mirror/acme/app')
    const cycle = await planApplyReplan({
      images: `- source: "acme/app:2"${skipVerify}`,
      targetPrefix: `${harbor.registry.host}/mirror/`,
      logins: {[harbor.registry.host]: ['admin', 'Harbor12345']},
      flags: pair.flags,
    })

    expect(cycle.applied.entries[0]!.result).toEqual({
      kind: 'failed',
      message: `${harbor.registry.host} refused to write tag ${pair.sigTag} of mirror/acme/app: its tags are immutable there and the tag exists already, or the name is not valid there; nothing was overwritten (DENIED: The tag:mirror/acme/app:${pair.sigTag} is immutable, cannot be overwrite.)`,
    })
    // Refused once, not retried as a lost race.
    expect(harbor.registry.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/manifests/${pair.sigTag}`)).map((r) => r.status)).toEqual([412])
    expect(storedDigest(harbor.registry, 'mirror/acme/app', pair.sigTag)).toBe(pair.one.digest)
  })
})

describe('Nexus refuses OCI artifacts', () => {
  test('a signature referrer (no image config) is refused: the entry says this registry does not store it', async () => {
    const source = stopAfter(await startFakeRegistry({referrers: 'api'}))
    const nexus = stopAfter(await startNexus({maxBodyBytes: 100 * 1024 * 1024}))
    const image = makeImage({flavor: 'oci'})
    await pushImage(source.url, 'acme/app', image, '1')
    const keys = await mkdtemp(join(tmpdir(), 'image-syncer-nexus-'))
    stopAfter({stop: () => rm(keys, {recursive: true, force: true})})
    await writeFile(join(keys, 'vendor.key'), makeKeyPair().privatePem)
    expect((await runCli(['sign', `${source.host}/acme/app:1`, '--key', join(keys, 'vendor.key')])).exitCode).toBe(0)
    const cycle = await planApplyReplan({
      images: `- source: "acme/app:1"${skipVerify}`,
      targetPrefix: `${nexus.host}/mirror/`,
      flags: ['--mirror', `docker.io=${source.url}`],
    })

    const result = cycle.applied.entries[0]!.result as {kind: string; message: string}
    expect(result.kind).toBe('failed')
    expect(result.message).toMatch(
      new RegExp(
        `^${nexus.host.replace(/[.]/g, '\\.')} does not accept the manifest sha256:[a-f0-9]{64} in mirror/acme/app \\(MANIFEST_INVALID: manifest invalid: unsupported config media type application/vnd\\.oci\\.empty\\.v1\\+json\\): this registry does not store that kind of content`,
      ),
    )
    // The image itself went in (it precedes its signatures); its tag was not written, so a re-plan copies again.
    expect(storedDigest(nexus, 'mirror/acme/app', image.digest)).toBe(image.digest)
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['to-copy'])
  })
})
