/**
 * Other writers at the same target, made deterministic with the in-process registry (issue 7, point 6):
 *   - a manifest PUT refused because a reference is not visible (yet) is retried after re-checking and
 *     re-copying what the PUT references, a bounded number of times;
 *   - the tag is written create-only (`If-None-Match: *`): a writer that took it first is reported as a conflict
 *     and never overwritten; a writer whose PUT landed after ours, on a registry that ignores the header, is
 *     reported as a failure naming both digests.
 * The real-registry counterpart is apply-concurrent.test.ts.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import type {FakeRegistry, Next} from '../support/fake-registry/index.ts'
import {refuseManifestPut} from '../support/fake-registry/index.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {apply, assertTagsComplete, cleanUpAfterEach, fake, headTag, planFor, targetOf} from './apply-helpers.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

const PLATFORMS = [
  {os: 'linux', architecture: 'amd64'},
  {os: 'linux', architecture: 'arm64'},
]

/** An index (two platform images) at the source, planned into an empty target. */
async function indexScenario() {
  const source = await fake()
  const target = await fake()
  const index = makeIndex({flavor: 'oci', platforms: PLATFORMS})
  await pushIndex(source.url, 'acme/app', index, '1')
  const planned = await planFor(source, target, ['acme/app:1'])
  const {repository, tag} = targetOf(planned.plan.entries[0]!)
  target.clearLog()
  return {source, target, index, planned, repository, tag}
}

const puts = (registry: FakeRegistry, path: string) => registry.requests.filter((r) => r.method === 'PUT' && r.path === path).map((r) => r.status)

describe('a manifest PUT refused for references it cannot see', () => {
  test('refused once (MANIFEST_BLOB_UNKNOWN): the children are looked at again and the PUT retried', async () => {
    const {target, index, planned, repository} = await indexScenario()
    const path = `/v2/${repository}/manifests/${index.digest}`
    const fault = target.addFault(refuseManifestPut('MANIFEST_BLOB_UNKNOWN', {path}))

    const result = await apply(target, planned)

    expect(result.entries.map((e) => e.result)).toEqual([{kind: 'copied'}])
    expect(fault.hits).toBe(1)
    expect(puts(target, path)).toEqual([400, 201])
    // Between the two PUTs: one HEAD per child, and nothing copied again (they were there).
    const refused = target.requests.findIndex((r) => r.method === 'PUT' && r.path === path)
    const between = target.requests.slice(
      refused + 1,
      target.requests.findLastIndex((r) => r.method === 'PUT' && r.path === path),
    )
    expect(between.map((r) => r.method).sort()).toEqual(['HEAD', 'HEAD'])
    expect(await assertTagsComplete(target)).toBe(1)
  })

  test('a blob that is really gone when the PUT is refused is uploaded again before the retry', async () => {
    const source = await fake()
    const target = await fake()
    const image = makeImage({flavor: 'oci', layers: 2})
    await pushImage(source.url, 'acme/app', image, '1')
    const planned = await planFor(source, target, ['acme/app:1'])
    const {repository} = targetOf(planned.plan.entries[0]!)
    const layer = image.layers[1]!
    // The registry loses the layer just before the manifest PUT is checked, and answers as it would.
    target.addFault({
      name: 'lose a layer',
      method: 'PUT',
      path: `/v2/${repository}/manifests/${image.digest}`,
      action: (_ctx, next: Next) => {
        target.storage.deleteBlob(repository, layer.digest)
        return next()
      },
    })
    target.clearLog()

    const result = await apply(target, planned)

    expect(result.entries.map((e) => e.result)).toEqual([{kind: 'copied'}])
    expect(target.requests.filter((r) => r.method === 'PUT' && new URLSearchParams(r.query).get('digest') === layer.digest).map((r) => r.status)).toEqual([
      201, 201,
    ])
    // Two transfers of the layer, each counted once.
    const total = [image.config, ...image.layers].reduce((n, b) => n + b.bytes.byteLength, 0)
    expect(result.summary.bytes).toBe(total + layer.bytes.byteLength)
    expect(await assertTagsComplete(target)).toBe(1)
  })

  test("refused every time: the entry fails after 4 attempts with the registry's code, and no tag is written", async () => {
    const {target, index, planned, repository, tag} = await indexScenario()
    const path = `/v2/${repository}/manifests/${index.digest}`
    target.addFault(refuseManifestPut('DIGEST_INVALID', {path, times: Infinity}))

    const result = await apply(target, planned)

    const outcome = result.entries[0]!.result
    expect(outcome.kind).toBe('failed')
    expect(outcome.kind === 'failed' && outcome.message).toContain('DIGEST_INVALID')
    expect(outcome.kind === 'failed' && outcome.message).toContain('refused 4 times')
    expect(puts(target, path)).toEqual([400, 400, 400, 400])
    expect((await headTag(target, repository, tag)).status).toBe(404)
  })
})

describe('another writer takes the tag', () => {
  /** A fault on our tag PUT that lets `other` land under the tag just before (or just after) ours. */
  const racing = (target: FakeRegistry, repository: string, tag: string, other: {bytes: Uint8Array; mediaType: string}, when: 'before' | 'after') => {
    const write = () => target.putManifest(repository, tag, other.bytes, other.mediaType)
    target.addFault({
      name: `other writer ${when}`,
      method: 'PUT',
      path: `/v2/${repository}/manifests/${tag}`,
      action: async (_ctx, next: Next) => {
        if (when === 'before') write()
        const response = await next()
        if (when === 'after') write()
        return response
      },
    })
  }

  test('between our last look and our PUT: If-None-Match refuses it, reported as a conflict, theirs kept', async () => {
    const {target, planned, repository, tag} = await indexScenario()
    const other = makeImage({flavor: 'oci'})
    racing(target, repository, tag, other, 'before')

    const result = await apply(target, planned)

    expect(result.entries.map((e) => e.result)).toEqual([{kind: 'conflict', targetDigest: other.digest}])
    expect(puts(target, `/v2/${repository}/manifests/${tag}`)).toEqual([412])
    expect((await headTag(target, repository, tag)).digest).toBe(other.digest)
  })

  test('the same content written by another apply at that moment is already present, not a conflict', async () => {
    const {target, index, planned, repository, tag} = await indexScenario()
    racing(target, repository, tag, index, 'before')

    const result = await apply(target, planned)

    expect(result.entries.map((e) => e.result)).toEqual([{kind: 'already-present'}])
    expect(await assertTagsComplete(target)).toBe(1)
  })

  test('a PUT that landed after ours (the registry ignores If-None-Match) fails the entry naming both digests', async () => {
    const {target, index, planned, repository, tag} = await indexScenario()
    const other = makeImage({flavor: 'oci'})
    racing(target, repository, tag, other, 'after')

    const result = await apply(target, planned)

    const outcome = result.entries[0]!.result
    expect(outcome.kind).toBe('failed')
    expect(outcome.kind === 'failed' && outcome.message).toContain(`we wrote ${index.digest}, it now holds ${other.digest}`)
  })
})
