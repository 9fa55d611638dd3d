/**
 * plan → apply → plan through the cloud registries' personalities as targets (test/support/fake-registry/personalities/,
 * where each quirk is cited): ECR, Artifact Registry, ACR. What works copies with digests unchanged; what cannot
 * fails its entry in one sentence that says what to do, and the tool creates no repository.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {startFakeRegistry} from '../support/fake-registry/index.ts'
import {startAcr, startArtifactRegistry, startEcr} from '../support/fake-registry/personalities/index.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {cleanUpAfterEach, planApplyReplan, stopAfter, storedDigest} from './personality-cycle.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

const AMD64 = {os: 'linux', architecture: 'amd64'}
const ARM64 = {os: 'linux', architecture: 'arm64'}

async function source() {
  const registry = stopAfter(await startFakeRegistry())
  const shared = makeImage({flavor: 'oci', seed: 'shared'})
  const index = makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]})
  await pushImage(registry.url, 'acme/a', shared, '1')
  await pushImage(registry.url, 'acme/b', shared, '1')
  await pushIndex(registry.url, 'acme/multi', index, '2')
  // Sources read as Docker Hub names through --mirror, so target names are `mirror/acme/...`.
  return {registry, shared, index, flags: ['--mirror', `docker.io=${registry.url}`]}
}

describe('ECR', () => {
  test('created repositories get the images (a mount answered 202 is an upload session); a missing one fails its entry saying how to create it', async () => {
    const src = await source()
    const ecr = await startEcr({blobMounting: 'disabled', password: 'ecr-token'})
    stopAfter(ecr.registry)
    ecr.createRepository('mirror/acme/a')
    ecr.createRepository('mirror/acme/b', {tagMutability: 'IMMUTABLE'})
    const images = ['acme/a:1', 'acme/b:1', 'acme/multi:2'].map((s) => `- source: "${s}"`).join('\n')
    const cycle = await planApplyReplan({
      images,
      targetPrefix: `${ecr.registry.host}/mirror/`,
      logins: {[ecr.registry.host]: ['AWS', 'ecr-token']},
      flags: src.flags,
    })

    expect(cycle.planned.entries.map((e) => e.action)).toEqual(['to-copy', 'to-copy', 'to-copy'])
    expect(cycle.applyExit).toBe(1)
    const [a, b, multi] = cycle.applied.entries
    expect([a!.result.kind, b!.result.kind]).toEqual(['copied', 'copied'])
    expect(storedDigest(ecr.registry, 'mirror/acme/a', '1')).toBe(src.shared.digest)
    expect(storedDigest(ecr.registry, 'mirror/acme/b', '1')).toBe(src.shared.digest)
    // Every mount was answered with a session (202), which took the bytes: no blob was both mounted and lost.
    const mounts = ecr.registry.requests.filter((r) => r.method === 'POST' && r.query.includes('mount='))
    expect(mounts.length).toBeGreaterThan(0)
    expect(mounts.every((r) => r.status === 202)).toBe(true)
    expect(a!.blobs.mounted + b!.blobs.mounted).toBe(0)
    expect(multi!.result).toEqual({
      kind: 'failed',
      message: `repository mirror/acme/multi does not exist at ${ecr.registry.host}; image-syncer never creates repositories: create it (in the registry's console or API; on Harbor, the project "mirror") and run apply again`,
    })
    expect(ecr.registry.storage.repository('mirror/acme/multi')).toBeUndefined()
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present', 'already-present', 'to-copy'])
  })
})

describe('Artifact Registry', () => {
  test('oauth2accesstoken through /v2/token; a repository never created is denied, and the entry says to create it', async () => {
    const src = await source()
    const ar = await startArtifactRegistry({accessToken: 'ya29.test'})
    stopAfter(ar.registry)
    ar.createRepository('proj', 'acme')
    const images = [`- source: "acme/multi:2"`, `- source: "acme/a:1"\n  target: "missing/a"`].join('\n')
    const cycle = await planApplyReplan({
      images,
      targetPrefix: `${ar.registry.host}/proj/`,
      logins: {[ar.registry.host]: ['oauth2accesstoken', 'ya29.test']},
      flags: src.flags,
    })

    const [multi, other] = cycle.applied.entries
    expect(multi!.result.kind).toBe('copied')
    expect(storedDigest(ar.registry, 'proj/acme/multi', '2')).toBe(src.index.digest)
    for (const child of src.index.children) expect(storedDigest(ar.registry, 'proj/acme/multi', child.digest)).toBe(child.digest)
    expect(ar.registry.tokenRequests.length).toBeGreaterThan(0)
    expect(ar.registry.tokenRequests.every((t) => t.username === 'oauth2accesstoken' && t.status === 200)).toBe(true)
    expect(ar.registry.count('*', '/v2/token')).toBeGreaterThan(0)
    expect(other!.result.kind).toBe('failed')
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present', 'to-copy'])
    expect(cycle.applied.entries.length).toBe(2)
    expect((other!.result as {message: string}).message).toMatch(
      /^.+ did not let these credentials push to proj\/missing\/a: check that they may push there and that the repository exists \(image-syncer never creates repositories/,
    )
  })
})

describe('ACR', () => {
  test.each(['denied', 'not-found'] as const)('blob HEAD %s where uploads work: the image is copied whole, digests unchanged', async (blobHead) => {
    const src = await source()
    const acr = stopAfter(await startAcr({blobHead}))
    const cycle = await planApplyReplan({images: `- source: "acme/multi:2"`, targetPrefix: `${acr.host}/mirror/`, flags: src.flags})

    expect(cycle.applied.entries.map((e) => e.result.kind)).toEqual(['copied'])
    expect(storedDigest(acr, 'mirror/acme/multi', '2')).toBe(src.index.digest)
    expect(acr.requests.filter((r) => r.method === 'HEAD' && r.path.includes('/blobs/')).every((r) => r.status === (blobHead === 'denied' ? 403 : 404))).toBe(
      true,
    )
    expect(cycle.replanned.entries.map((e) => e.action)).toEqual(['already-present'])
  })
})
