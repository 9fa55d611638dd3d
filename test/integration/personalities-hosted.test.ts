/**
 * plan → apply → plan through the personalities of Docker Hub and GHCR (sources), Harbor, Quay, Artifactory and
 * Nexus (targets); each quirk is cited in test/support/fake-registry/personalities/. What works copies with
 * digests unchanged; what cannot fails its entry in one sentence that says what to do.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {startFakeRegistry} from '../support/fake-registry/index.ts'
import {startArtifactory, startDockerHub, startGhcr, startHarbor, startNexus, startQuay} from '../support/fake-registry/personalities/index.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {cleanUpAfterEach, planApplyReplan, stopAfter, storedDigest} from './personality-cycle.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

const AMD64 = {os: 'linux', architecture: 'amd64'}
const ARM64 = {os: 'linux', architecture: 'arm64'}

async function plainSource(options: {layerSize?: number} = {}) {
  const registry = stopAfter(await startFakeRegistry())
  const index = makeIndex({flavor: 'oci', platforms: [AMD64, ARM64], ...options})
  await pushIndex(registry.url, 'acme/app', index, '1')
  return {registry, index, flags: ['--mirror', `docker.io=${registry.url}`]}
}

describe('Docker Hub as the source', () => {
  test('library/ names, tokens from another host, apply spends the pulls the plan counted', async () => {
    const hub = await startDockerHub({limit: 100, remaining: 40})
    stopAfter(hub.registry)
    const official = makeIndex({flavor: 'docker', platforms: [AMD64, ARM64]})
    // Seeded through the storage: pushes would need a login and spend nothing anyway.
    for (const child of official.children) {
      for (const blob of [child.config, ...child.layers]) hub.registry.putBlob('library/alpine', blob.bytes)
      hub.registry.putManifest('library/alpine', child.digest, child.bytes, child.mediaType)
    }
    hub.registry.putManifest('library/alpine', '3', official.bytes, official.mediaType)
    const target = stopAfter(await startFakeRegistry())
    const cycle = await planApplyReplan({
      images: '- source: "alpine:3"',
      targetPrefix: `${target.host}/mirror/`,
      flags: ['--mirror', `docker.io=${hub.registry.url}`],
    })

    expect(cycle.applied.entries.map((e) => e.result.kind)).toEqual(['copied'])
    expect(storedDigest(target, 'mirror/library/alpine', '3')).toBe(official.digest)
    expect((cycle.planned.pulls ?? []).map((p) => [p.registry, p.needed])).toEqual([['docker.io', 3]])
    // The budget Docker Hub announced (through --mirror, under the mirror's host), recorded for docker.io: 40
    // left before the plan's one pull.
    expect(cycle.planned.pulls).toEqual([{registry: 'docker.io', needed: 3, limit: 100, remaining: 39}])
    // One pull for planning (the index), the three the plan counted for apply; HEADs spent none.
    expect(hub.pulls.spent).toBe(4)
    // Tokens came from the token host, never from the registry's own host.
    expect(hub.registry.tokenUrl).not.toBe(hub.registry.url)
    expect(hub.registry.requests.some((r) => r.path === 'token-host:/token' && r.status === 200)).toBe(true)
    expect(hub.registry.count('*', '/token')).toBe(0)
    expect(hub.registry.requests.some((r) => /^\/v2\/alpine\//.test(r.path))).toBe(false)
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present'])
  })
})

describe('GHCR as the source', () => {
  test('a public package through an anonymous token; its fallback tag is an ordinary tag there', async () => {
    const ghcr = stopAfter(await startGhcr({publicRepositories: ['acme/tool'], users: {bot: 'ghp_x'}}))
    const image = makeImage({flavor: 'oci'})
    await pushImage(ghcr.url, 'acme/tool', image, '1').catch(() => {})
    // Pushing needs the login: seed through the storage instead.
    for (const blob of [image.config, ...image.layers]) ghcr.putBlob('acme/tool', blob.bytes)
    ghcr.putManifest('acme/tool', '1', image.bytes, image.mediaType)
    const target = stopAfter(await startFakeRegistry())
    const cycle = await planApplyReplan({images: `- source: "${ghcr.host}/acme/tool:1"\n  target: "acme/tool"`, targetPrefix: `${target.host}/mirror/`})

    expect(cycle.applied.entries.map((e) => e.result.kind)).toEqual(['copied'])
    expect(storedDigest(target, 'mirror/acme/tool', '1')).toBe(image.digest)
    expect(ghcr.tokenRequests.filter((t) => t.status === 200).every((t) => t.grantType === 'anonymous' && t.granted.every((g) => g.endsWith(':pull')))).toBe(
      true,
    )
    // The referrers path is a 404 there: the tool reads fallback tags instead, and asks no more.
    expect(ghcr.requests.filter((r) => r.path.includes('/referrers/')).every((r) => r.status === 404)).toBe(true)
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present'])
  })
})

describe('Harbor as the target', () => {
  test('an existing project gets the image under immutable tags; a missing project fails its entry, saying to create it', async () => {
    const src = await plainSource()
    const harbor = await startHarbor({users: {admin: 'Harbor12345'}})
    stopAfter(harbor.registry)
    harbor.createProject('acme')
    harbor.makeTagsImmutable('acme')
    const images = '- source: "acme/app:1"\n- source: "acme/app:1"\n  target: "nope/app"'
    const cycle = await planApplyReplan({
      images,
      targetPrefix: `${harbor.registry.host}/`,
      logins: {[harbor.registry.host]: ['admin', 'Harbor12345']},
      flags: src.flags,
    })

    const [kept, missing] = cycle.applied.entries
    expect(kept!.result.kind).toBe('copied')
    expect(storedDigest(harbor.registry, 'acme/app', '1')).toBe(src.index.digest)
    expect(missing!.result).toEqual({
      kind: 'failed',
      message: `${harbor.registry.host} did not let these credentials push to nope/app: check that they may push there and that the repository exists (image-syncer never creates repositories: create it (in the registry's console or API; on Harbor, the project "nope") and run apply again)`,
    })
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present', 'to-copy'])
  })
})

describe('Quay as the target', () => {
  test('no OCI-Subject and an empty referrers listing: the image is copied whole all the same', async () => {
    const src = await plainSource()
    const quay = stopAfter(await startQuay())
    const cycle = await planApplyReplan({images: '- source: "acme/app:1"', targetPrefix: `${quay.host}/mirror/`, flags: src.flags})

    expect(cycle.applied.entries.map((e) => e.result.kind)).toEqual(['copied'])
    expect(storedDigest(quay, 'mirror/acme/app', '1')).toBe(src.index.digest)
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present'])
  })
})

describe('Artifactory as the target', () => {
  test('the bytes refused in the completing PUT (404 BLOB_UNKNOWN) go again in PATCH chunks', async () => {
    const src = await plainSource()
    const artifactory = stopAfter(await startArtifactory())
    const cycle = await planApplyReplan({images: '- source: "acme/app:1"', targetPrefix: `${artifactory.host}/mirror/`, flags: src.flags})

    expect(cycle.applied.entries.map((e) => e.result.kind)).toEqual(['copied'])
    expect(storedDigest(artifactory, 'mirror/acme/app', '1')).toBe(src.index.digest)
    expect(artifactory.count('PATCH', /\/blobs\/uploads\//)).toBeGreaterThan(0)
    // Uploads started side by side are each refused once; from then on every blob goes in chunks.
    const refused = artifactory.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.status === 404)
    expect(refused.length).toBeGreaterThan(0)
    expect(artifactory.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.status === 201).length).toBe(6)
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present'])
  })
})

describe('Nexus as the target', () => {
  test('behind a proxy limiting bodies to 100 KiB: 64 KiB chunks carry 300 KiB layers', async () => {
    const src = await plainSource({layerSize: 300 * 1024})
    const nexus = stopAfter(await startNexus({maxBodyBytes: 100 * 1024}))
    const cycle = await planApplyReplan({
      images: '- source: "acme/app:1"',
      targetPrefix: `${nexus.host}/mirror/`,
      flags: src.flags,
      env: {SYNCER_CHUNK_SIZE: '64KiB'},
    })

    expect(cycle.applied.entries.map((e) => e.result.kind)).toEqual(['copied'])
    expect(storedDigest(nexus, 'mirror/acme/app', '1')).toBe(src.index.digest)
    expect(nexus.requests.every((r) => r.status !== 413)).toBe(true)
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present'])
  })
})
