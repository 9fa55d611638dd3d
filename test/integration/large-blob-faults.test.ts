/**
 * Large-layer transfers under faults, against the in-process registry, asserted from the server's request log:
 * a blob GET reset mid-body resumes with `Range: bytes=N-` (N > 0) instead of starting over; a target that
 * refuses a monolithic PUT with 413 gets PATCH chunks (and keeps getting them); --chunk-size uploads in chunks;
 * a chunk cut short continues from the offset the registry reports. Every test ends with the blob at the target
 * hashing to its digest and no upload session left behind.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {applyPlan} from '../../src/apply/apply.ts'
import {ANONYMOUS} from '../../src/auth/credential.ts'
import {digestOf} from '../../src/ref/digest.ts'
import {RegistryClient} from '../../src/registry/client.ts'
import {Transport} from '../../src/transport/transport.ts'
import {type FakeRegistry, ignoreRanges, refuseLargeBody, resetConnection, resetMidChunk} from '../support/fake-registry/index.ts'
import {type Blob, makeImage, pushImage} from '../support/images.ts'
import {testPace} from '../support/pace.ts'
import {assertTagsComplete, cleanUpAfterEach, fake, kinds, planFor, targetOf} from './apply-helpers.ts'

setDefaultTimeout(20_000)
cleanUpAfterEach()

const LAYER_SIZE = 512 * 1024
const CHUNK = 64 * 1024

/** Three attempts per request, on a pace that waits for nothing: recoveries take no wall time. */
const pace = testPace({retry: {maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5}})

/** A client as `apply` builds it. */
function client(chunkSize?: number): RegistryClient {
  const transport = new Transport({credentials: async () => ANONYMOUS, pace})
  return new RegistryClient(transport, (registry) => ({registry, baseUrl: `http://${registry}`, scheme: 'fixed'}), chunkSize !== undefined ? {chunkSize} : {})
}

/** A source with one single-layer image at `acme/big:1`, a target, and the plan between them. */
async function seeded() {
  const source = await fake()
  const target = await fake()
  const image = makeImage({flavor: 'oci', layers: 1, layerSize: LAYER_SIZE})
  await pushImage(source.url, 'acme/big', image, '1')
  const planned = await planFor(source, target, ['acme/big:1'])
  source.clearLog()
  target.clearLog()
  const layer = image.layers[0]!
  return {source, target, planned, layer, repository: targetOf(planned.plan.entries[0]!).repository, layerPath: `/v2/acme/big/blobs/${layer.digest}`}
}

/** The layer arrived whole, the tag is complete, and no session is left open at the target. */
async function expectIntact(target: FakeRegistry, repository: string, layer: Blob) {
  const stored = target.storage.getBlob(repository, layer.digest)
  expect(stored?.byteLength).toBe(layer.bytes.byteLength)
  expect(digestOf(stored!)).toBe(layer.digest)
  expect(target.storage.uploads.size).toBe(0)
  expect(await assertTagsComplete(target)).toBe(1)
}

const uploadsOf = (registry: FakeRegistry, method: string) =>
  registry.requests.filter((r) => r.method === method && r.path.includes('/blobs/uploads/') && r.path.split('/blobs/uploads/')[1] !== '')

describe('a blob GET reset mid-body', () => {
  test('resumes with Range from the bytes already read: the source is not read from 0 again', async () => {
    const {source, target, planned, layer, repository, layerPath} = await seeded()
    source.addFault(resetConnection({method: 'GET', path: layerPath}, Math.floor(LAYER_SIZE * 0.7)))
    const result = await applyPlan(planned.plan, client(), {pace})

    expect(kinds(result)).toEqual(['copied'])
    const gets = source.requests.filter((r) => r.method === 'GET' && r.path === layerPath)
    expect(gets.map((r) => [r.faults, r.status])).toEqual([
      [['reset connection'], 200],
      [[], 206],
    ])
    expect(gets[0]!.range).toBeNull()
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1])
    expect(resumedAt).toBeGreaterThan(0)
    expect(resumedAt).toBeLessThanOrEqual(Math.floor(LAYER_SIZE * 0.7))
    // One session, one PUT: the target never saw the break.
    expect(target.count('POST', /\/blobs\/uploads\/$/)).toBe(2)
    expect(uploadsOf(target, 'PUT').map((r) => r.status)).toEqual([201, 201])
    await expectIntact(target, repository, layer)
  })

  test('a source that ignores Range (200): the resumed answer is not spliced in, the transfer starts over', async () => {
    const {source, target, planned, layer, repository, layerPath} = await seeded()
    source.addFault(resetConnection({method: 'GET', path: layerPath}, Math.floor(LAYER_SIZE * 0.7)))
    source.addFault(ignoreRanges({path: layerPath}))
    const result = await applyPlan(planned.plan, client(), {pace})

    expect(kinds(result)).toEqual(['copied'])
    const gets = source.requests.filter((r) => r.method === 'GET' && r.path === layerPath)
    expect(gets.map((r) => [r.range !== null, r.status])).toEqual([
      [false, 200],
      [true, 200],
      [false, 200],
    ])
    expect(target.count('DELETE', /\/blobs\/uploads\//)).toBe(1)
    await expectIntact(target, repository, layer)
  })
})

describe('chunked uploads', () => {
  test('a 413 on the monolithic PUT: the blob is sent again in PATCH chunks, and later blobs go chunked at once', async () => {
    const {target, planned, layer, repository} = await seeded()
    target.addFault(refuseLargeBody(LAYER_SIZE / 2))
    const shared = client()
    const result = await applyPlan(planned.plan, shared, {pace})

    expect(kinds(result)).toEqual(['copied'])
    const puts = uploadsOf(target, 'PUT')
    expect(puts.filter((r) => r.status === 413)).toHaveLength(1)
    const patches = uploadsOf(target, 'PATCH')
    expect(patches.map((r) => [r.contentRange, r.status])).toEqual([[`0-${LAYER_SIZE - 1}`, 202]])
    await expectIntact(target, repository, layer)

    // The same run (client) uploads another blob to that registry: chunks straight away, no second 413.
    target.clearLog()
    const other = makeImage({flavor: 'oci', layers: 1, layerSize: LAYER_SIZE}).layers[0]!
    await shared
      .repository({registry: target.host, repository})
      .putBlob({digest: other.digest, size: other.bytes.byteLength, open: async () => new Response(other.bytes).body!})
    expect(uploadsOf(target, 'PUT').map((r) => r.status)).toEqual([201])
    expect(uploadsOf(target, 'PATCH')).toHaveLength(1)
    expect(digestOf(target.storage.getBlob(repository, other.digest)!)).toBe(other.digest)
  })

  test('--chunk-size: PATCHes with consecutive Content-Ranges, then a PUT ?digest= without a body', async () => {
    const {target, planned, layer, repository} = await seeded()
    const result = await applyPlan(planned.plan, client(CHUNK), {pace})

    expect(kinds(result)).toEqual(['copied'])
    const layerSession = uploadsOf(target, 'PATCH').filter((r) => r.contentRange?.startsWith(`${CHUNK}-`))[0]!.path
    const patches = uploadsOf(target, 'PATCH').filter((r) => r.path === layerSession)
    expect(patches.map((r) => r.contentRange)).toEqual(Array.from({length: LAYER_SIZE / CHUNK}, (_, i) => `${i * CHUNK}-${(i + 1) * CHUNK - 1}`))
    const finish = uploadsOf(target, 'PUT').filter((r) => new URLSearchParams(r.query).get('digest') === layer.digest)
    expect(finish.map((r) => [r.contentRange, r.status])).toEqual([[null, 201]])
    await expectIntact(target, repository, layer)
  })

  test('a chunk cut off half-way: the client asks the session where it stands and sends the rest of that chunk', async () => {
    const {target, planned, layer, repository} = await seeded()
    target.addFault(resetMidChunk({when: (ctx) => ctx.request.headers.get('content-range') === `${CHUNK}-${2 * CHUNK - 1}`}))
    const result = await applyPlan(planned.plan, client(CHUNK), {pace})

    expect(kinds(result)).toEqual(['copied'])
    const cut = target.requests.findIndex((r) => r.faults.includes('reset mid-chunk'))
    const after = target.requests.slice(cut + 1).filter((r) => r.path === target.requests[cut]!.path)
    // Status first (204, Range 0-END), then the rest of the chunk from the offset the registry reported.
    expect(after[0]).toMatchObject({method: 'GET', status: 204})
    expect(after[1]).toMatchObject({method: 'PATCH', status: 202, contentRange: `${CHUNK + CHUNK / 2}-${2 * CHUNK - 1}`})
    expect(uploadsOf(target, 'PATCH').filter((r) => r.contentRange?.startsWith('0-')).length).toBeGreaterThan(0)
    expect(target.count('DELETE', /\/blobs\/uploads\//)).toBe(0)
    await expectIntact(target, repository, layer)
  })

  test('chunks cut off every time: bounded recoveries, sessions abandoned, nothing stored; a later run completes', async () => {
    const {target, planned, layer, repository} = await seeded()
    target.addFault(
      resetMidChunk({
        path: new RegExp(`/v2/${repository}/blobs/uploads/.+`),
        when: (ctx) => Number(ctx.request.headers.get('content-range')?.split('-')[0]) >= CHUNK,
        times: Infinity,
      }),
    )
    const failed = await applyPlan(planned.plan, client(CHUNK), {pace})

    expect(kinds(failed)).toEqual(['failed'])
    // Each of the engine's 3 attempts: its first cut, then 5 recoveries (status, rest of the chunk), all cut again.
    const cuts = target.requests.filter((r) => r.faults.includes('reset mid-chunk'))
    expect(cuts).toHaveLength(3 * 6)
    expect(target.count('DELETE', /\/blobs\/uploads\/.+/)).toBe(3)
    expect(target.storage.hasBlob(repository, layer.digest)).toBe(false)
    expect(target.storage.uploads.size).toBe(0)
    expect(await assertTagsComplete(target)).toBe(0)

    target.clearFaults()
    expect(kinds(await applyPlan(planned.plan, client(CHUNK), {pace}))).toEqual(['copied'])
    await expectIntact(target, repository, layer)
  })
})

test('chunks refused with 413 too: the entry fails and says to use a smaller --chunk-size', async () => {
  const {target, planned, layer, repository} = await seeded()
  target.addFault(refuseLargeBody(CHUNK / 2, {method: ['PUT', 'PATCH']}))
  const result = await applyPlan(planned.plan, client(CHUNK), {pace})

  expect(kinds(result)).toEqual(['failed'])
  const outcome = result.entries[0]!.result
  expect(outcome.kind === 'failed' && outcome.message).toContain('smaller --chunk-size')
  expect(target.storage.hasBlob(repository, layer.digest)).toBe(false)
  expect(target.storage.uploads.size).toBe(0)
})
