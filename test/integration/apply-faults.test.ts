/**
 * `apply` under registry faults, against the in-process registry: failed and rate-limited uploads, a connection
 * reset mid-download, bytes that are not the blob's, slow answers beyond the timeout. Faults are added after
 * planning, so they hit apply alone. Every test ends by checking that no target tag points at incomplete content.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {DEFAULT_RETRY} from '../../src/commands/pace.ts'
import {digestOf} from '../../src/ref/digest.ts'
import {
  type FakeRegistry,
  type FaultSpec,
  type Where,
  corruptBlob,
  delay,
  resetConnection,
  serverError,
  tooManyRequests,
} from '../support/fake-registry/index.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {apply, assertTagsComplete, cleanUpAfterEach, fake, headTag, kinds, planFor, targetOf} from './apply-helpers.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

/** A source holding one single-manifest image at `acme/app:1`, a target, and the plan between them. */
async function seeded(options: {layerSize?: number; layers?: number} = {}) {
  const source = await fake()
  const target = await fake()
  const image = makeImage({flavor: 'oci', ...options})
  await pushImage(source.url, 'acme/app', image, '1')
  const planned = await planFor(source, target, ['acme/app:1'])
  expect(planned.plan.entries.map((e) => e.action)).toEqual(['to-copy'])
  source.clearLog()
  target.clearLog()
  return {source, target, image, planned, ...targetOf(planned.plan.entries[0]!)}
}

/** Requests of `registry` that complete a blob upload (`PUT <location>?digest=`), optionally for one digest. */
function blobPuts(registry: FakeRegistry, digest?: string) {
  return registry.requests.filter(
    (r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && (digest === undefined || new URLSearchParams(r.query).get('digest') === digest),
  )
}

const digestParam =
  (digest: string): Where['when'] =>
  (ctx) =>
    ctx.query.get('digest') === digest

/**
 * The pauses of an apply that met one temporary failure. Without Retry-After, the one pause before its retry: the
 * first step of the default backoff (half to all of its base delay). With it, the retry waited the announced
 * delay, and each other request to the registry that came while it ran waited what was left of it (the registry's
 * hold, transport/hold-gate.ts), none longer.
 */
function expectPauses(sleeps: number[], retryAfterMs: number | null): void {
  if (retryAfterMs === null) {
    expect(sleeps).toHaveLength(1)
    expect(sleeps[0]!).toBeWithin(DEFAULT_RETRY.baseDelayMs / 2, DEFAULT_RETRY.baseDelayMs + 1)
    return
  }
  expect(sleeps).toContain(retryAfterMs)
  for (const ms of sleeps) expect(ms).toBeWithin(retryAfterMs - 200, retryAfterMs + 1)
}

describe('apply retries temporary failures of blob uploads', () => {
  const cases: [string, (where: Where) => FaultSpec, number, number | null][] = [
    ['500', (where) => serverError(where), 500, null],
    // Retry-After: 1 is the registry's word on when to come back, whichever request it answered.
    ['429 with Retry-After: 1', (where) => tooManyRequests(where, 1), 429, 1000],
  ]

  test.each(cases)('%s on the PUT that completes an upload, then success', async (_name, fault, status, retryAfterMs) => {
    const {source, target, image, planned, repository} = await seeded()
    const layer = image.layers[0]!.digest
    target.addFault(fault({method: 'PUT', path: /\/blobs\/uploads\//, when: digestParam(layer)}))
    const result = await apply(target, planned)

    expect(kinds(result)).toEqual(['copied'])
    expect(blobPuts(target, layer).map((r) => r.status)).toEqual([status, 201])
    // A streamed PUT cannot be replayed: the whole transfer starts again, with a new session and a new GET.
    expect(target.count('DELETE', /\/blobs\/uploads\//)).toBe(1)
    expect(target.count('POST', /\/blobs\/uploads\/$/)).toBe(4)
    expect(source.count('GET', `/v2/acme/app/blobs/${layer}`)).toBe(2)
    expectPauses(result.pace.sleeps, retryAfterMs)
    expect(target.storage.hasBlob(repository, layer)).toBe(true)
    expect(target.storage.uploads.size).toBe(0)
    expect(await assertTagsComplete(target)).toBe(1)
  })

  test.each(cases)('%s on the POST that starts an upload, then success', async (_name, fault, status, retryAfterMs) => {
    const {target, planned} = await seeded()
    target.addFault(fault({method: 'POST', path: /\/blobs\/uploads\/$/}))
    const result = await apply(target, planned)

    expect(kinds(result)).toEqual(['copied'])
    const posts = target.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/blobs/uploads/'))
    // Config + 2 layers: one refused start, retried by the transport, and 3 sessions opened.
    expect(posts.map((r) => r.status).sort()).toEqual([202, 202, 202, status])
    expect(posts[0]!.status).toBe(status)
    expect(blobPuts(target).map((r) => r.status)).toEqual([201, 201, 201])
    expectPauses(result.pace.sleeps, retryAfterMs)
    expect(await assertTagsComplete(target)).toBe(1)
  })
})

describe('apply and broken transfers', () => {
  test('a connection reset in the middle of a blob download: the download resumes (Range) and the blob arrives intact', async () => {
    const {source, target, image, planned, repository} = await seeded({layers: 1, layerSize: 256 * 1024})
    const layer = image.layers[0]!
    source.addFault(resetConnection({method: 'GET', path: `/v2/acme/app/blobs/${layer.digest}`}, 64 * 1024))
    const result = await apply(target, planned)

    expect(kinds(result)).toEqual(['copied'])
    const gets = source.requests.filter((r) => r.method === 'GET' && r.path === `/v2/acme/app/blobs/${layer.digest}`)
    expect(gets.map((r) => [r.faults, r.range])).toEqual([
      [['reset connection'], null],
      [[], expect.stringMatching(/^bytes=[1-9]\d*-$/)],
    ])
    expect(blobPuts(target, layer.digest).at(-1)!.status).toBe(201)
    const stored = target.storage.getBlob(repository, layer.digest)
    expect(stored?.byteLength).toBe(layer.bytes.byteLength)
    expect(digestOf(stored!)).toBe(layer.digest)
    expect(target.storage.uploads.size).toBe(0)
    expect(await assertTagsComplete(target)).toBe(1)
  })

  test('a blob served with wrong bytes is refused: the entry fails, nothing is tagged or stored; after the fault, apply completes', async () => {
    const source = await fake()
    const target = await fake()
    const index = makeIndex({
      flavor: 'oci',
      platforms: [
        {os: 'linux', architecture: 'amd64'},
        {os: 'linux', architecture: 'arm64'},
      ],
    })
    await pushIndex(source.url, 'acme/evil', index, '1')
    const planned = await planFor(source, target, ['acme/evil:1'])
    const {repository, tag} = targetOf(planned.plan.entries[0]!)
    const layer = index.children[0]!.layers[0]!.digest
    source.addFault(corruptBlob({path: new RegExp(`/blobs/${layer}$`), times: Infinity}))

    const failed = await apply(target, planned)
    expect(kinds(failed)).toEqual(['failed'])
    const outcome = failed.entries[0]!.result
    if (outcome.kind === 'failed') {
      expect(outcome.message).toContain(layer)
      expect(outcome.message).toContain('refusing it')
    }
    expect(failed.summary).toMatchObject({copied: 0, failed: 1})
    expect(await headTag(target, repository, tag)).toMatchObject({status: 404})
    expect(await headTag(target, repository, index.digest)).toMatchObject({status: 404})
    expect(target.storage.hasBlob(repository, layer)).toBe(false)
    expect(target.storage.uploads.size).toBe(0)
    expect(await assertTagsComplete(target)).toBe(0)

    source.clearFaults()
    const again = await apply(target, planned)
    expect(kinds(again)).toEqual(['copied'])
    expect(await headTag(target, repository, tag)).toEqual({status: 200, digest: index.digest})
    expect(digestOf(target.storage.getBlob(repository, layer)!)).toBe(layer)
    expect(await assertTagsComplete(target)).toBe(1)
  })
})

describe('apply against a registry slower than the timeout', () => {
  test('a tag PUT that times out once is retried and the entry copied; a second apply finds it present', async () => {
    const {target, image, planned, repository, tag} = await seeded()
    target.addFault(delay(3000, {method: 'PUT', path: `/v2/${repository}/manifests/${tag}`}))
    const result = await apply(target, planned, {timeoutMs: 500})

    expect(kinds(result)).toEqual(['copied'])
    // Cut short by the timeout (not waited out for 3 s), then sent again after one backoff pause.
    expectPauses(result.pace.sleeps, null)
    const tagPuts = result.events.filter((e) => e.method === 'PUT' && e.url.endsWith(`/${repository}/manifests/${tag}`))
    expect(tagPuts.map((e) => [e.attempt, e.status, e.error ?? null])).toEqual([
      [1, null, expect.stringContaining('timed out')],
      [2, 201, null],
    ])
    expect(await headTag(target, repository, tag)).toEqual({status: 200, digest: image.digest})
    expect(await assertTagsComplete(target)).toBe(1)

    const again = await apply(target, planned, {timeoutMs: 500})
    expect(kinds(again)).toEqual(['already-present'])
  })

  test('a blob PUT that never answers in time fails the entry after bounded retries, with nothing tagged; then apply completes', async () => {
    const {target, image, planned, repository, tag} = await seeded()
    const layer = image.layers[1]!.digest
    target.addFault(delay(3000, {method: 'PUT', path: /\/blobs\/uploads\//, when: digestParam(layer), times: Infinity}))
    const result = await apply(target, planned, {timeoutMs: 500})

    expect(kinds(result)).toEqual(['failed'])
    const outcome = result.entries[0]!.result
    if (outcome.kind === 'failed') expect(outcome.message).toContain('timed out')
    // Three whole-transfer attempts, each given up after 500 ms of silence.
    expect(blobPuts(target, layer)).toHaveLength(3)
    // Bounded: a backoff pause between the attempts, none after the last.
    expect(result.pace.sleeps).toHaveLength(2)
    expect(await headTag(target, repository, tag)).toMatchObject({status: 404})
    expect(target.storage.hasBlob(repository, layer)).toBe(false)
    expect(await assertTagsComplete(target)).toBe(0)

    target.clearFaults()
    const again = await apply(target, planned, {timeoutMs: 500})
    expect(kinds(again)).toEqual(['copied'])
    expect(await headTag(target, repository, tag)).toEqual({status: 200, digest: image.digest})
    expect(await assertTagsComplete(target)).toBe(1)
  })
})
