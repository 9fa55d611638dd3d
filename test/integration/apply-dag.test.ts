/**
 * An index DAG that lists the same child twice per level (issue 7, point 4): apply and signature carrying copy
 * each distinct digest once per run, so requests grow with the depth, not with 2^depth, and every transferred
 * byte is counted once. Requests are counted at the registries.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {CopyEngine} from '../../src/copy/engine.ts'
import {MediaType} from '../../src/oci/media-types.ts'
import {parseManifest} from '../../src/oci/manifest.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import type {FetchedManifest} from '../../src/registry/handle.ts'
import {copyArtifacts} from '../../src/signatures/copy.ts'
import {type FakeRegistry, respondWith} from '../support/fake-registry/index.ts'
import {pushImage} from '../support/images.ts'
import {makeNestedIndex, type NestedIndex, pushNestedIndex} from '../support/nested-index.ts'
import {apply, cleanUpAfterEach, fake, planFor} from './apply-helpers.ts'
import {loopbackClient} from './signature-fixtures.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)
cleanUpAfterEach()

const DEPTH = 16
/** Far above linear, far below 2^16: a walker that follows every path fails fast here instead of running for minutes. */
const BUDGET = 50 * DEPTH

/** Refuses (403, not retried) every request past the budget, so an exponential walk ends with a clear failure. */
function limitRequests(registry: FakeRegistry): void {
  registry.addFault({...respondWith(403, {when: () => registry.requests.length > BUDGET, times: Infinity}), name: 'request budget spent'})
}

/** Manifests by digest (signature discovery also looks up a few tags, a constant per entry). */
const manifestRequests = (registry: FakeRegistry, method: string) => registry.count(method, /\/manifests\/sha256:/)
const blobBytes = (nested: NestedIndex) => [nested.image.config, ...nested.image.layers].reduce((n, b) => n + b.bytes.byteLength, 0)

describe('an index DAG that repeats its children', () => {
  test('apply copies each distinct manifest once: requests linear in the depth, bytes counted once', async () => {
    const source = await fake()
    const target = await fake()
    const nested = makeNestedIndex(DEPTH)
    await pushNestedIndex(source.url, 'acme/dag', nested, '1')
    await pushNestedIndex(source.url, 'acme/dag', nested, '2')
    // Two tags of one digest: the second entry shares the first one's copy instead of walking again.
    const planned = await planFor(source, target, ['acme/dag:1', 'acme/dag:2'])
    source.clearLog()
    target.clearLog()
    limitRequests(source)
    limitRequests(target)

    const result = await apply(target, planned)

    expect(result.entries.map((e) => e.result)).toEqual([{kind: 'copied'}, {kind: 'copied'}])
    const distinct = DEPTH + 1
    // The top is read once per entry (it is tagged from those bytes); each other manifest once per run.
    expect(manifestRequests(source, 'GET')).toBe(distinct + 1)
    expect(target.count('PUT', /\/manifests\//)).toBe(distinct + 2)
    expect(target.count('HEAD', new RegExp(`/manifests/${nested.levels[0]!.digest}$`))).toBe(1)
    expect(source.count('GET', /\/blobs\//)).toBe(3)
    // Three blobs, uploaded once, counted once in the run's bytes and once in the blob counts.
    expect(result.summary.bytes).toBe(blobBytes(nested))
    const uploaded = result.entries.reduce((n, e) => n + e.blobs.uploaded, 0)
    expect(uploaded).toBe(3)
    // assertTagsComplete walks every path (2^16 here), so the DAG's distinct contents are checked directly.
    const repository = `mirror/${source.host.replace(':', '-')}/acme/dag`
    for (const tag of ['1', '2']) expect(target.storage.getManifest(repository, tag)?.digest).toBe(nested.top)
    for (const level of nested.levels) expect(target.storage.getManifest(repository, level.digest)).toBeDefined()
    for (const blob of [nested.image.config, ...nested.image.layers]) expect(target.storage.hasBlob(repository, blob.digest)).toBe(true)
  })

  test('carrying an index referrer over the DAG HEADs and PUTs each distinct child once', async () => {
    const source = await fake()
    const target = await fake()
    const nested = makeNestedIndex(DEPTH)
    const from = {registry: source.host, repository: 'acme/signed'}
    const to = {registry: target.host, repository: 'mirror/signed'}
    await pushNestedIndex(source.url, from.repository, nested, 'dag')
    // The subject must already be at the target (the caller's guarantee); any image will do.
    await pushImage(source.url, from.repository, nested.image, 'subject')
    await pushImage(target.url, to.repository, nested.image, 'subject')
    const top = nested.levels.at(-1)!
    const descriptor = {mediaType: MediaType.OciIndex, digest: top.digest, size: top.bytes.byteLength}
    const bytes = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        artifactType: 'application/spdx+json',
        manifests: [descriptor, descriptor],
        subject: {mediaType: nested.image.mediaType, digest: nested.image.digest, size: nested.image.bytes.byteLength},
      }),
    )
    const referrer: FetchedManifest = {
      digest: sha256Digest(bytes),
      mediaType: MediaType.OciIndex,
      size: bytes.byteLength,
      bytes,
      parsed: parseManifest(bytes, MediaType.OciIndex),
    }
    source.clearLog()
    target.clearLog()
    limitRequests(source)
    limitRequests(target)

    const client = loopbackClient()
    const report = await copyArtifacts(new CopyEngine({transfers: 4, pace: testPace()}), client.repository(from), client.repository(to), nested.image.digest, [
      {kind: 'referrer', manifest: referrer, descriptor: {...descriptor, digest: referrer.digest}},
    ])

    expect(report.referrers).toBe(1)
    for (const level of nested.levels) {
      expect(target.count('HEAD', `/v2/${to.repository}/manifests/${level.digest}`)).toBe(1)
      expect(target.count('PUT', `/v2/${to.repository}/manifests/${level.digest}`)).toBe(1)
      expect(source.count('GET', `/v2/${from.repository}/manifests/${level.digest}`)).toBe(1)
    }
    expect(target.storage.getManifest(to.repository, referrer.digest)).toBeDefined()
  })
})
