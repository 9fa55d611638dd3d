/** Every fault constructor produces its fault, and the request log and counters see it from the server side. */
import {afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {MANIFEST_ACCEPT, MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {
  type FakeRegistry,
  concurrencyLimit,
  corruptBlob,
  corruptManifest,
  delay,
  omitDigestHeader,
  refuseMount,
  resetConnection,
  serverError,
  serviceUnavailable,
  slowManifestPut,
  startFakeRegistry,
  tooManyRequests,
} from './fake-registry/index.ts'
import {makeImage, pushImage} from './images.ts'

setDefaultTimeout(10_000)

const image = makeImage({flavor: 'oci', seed: 'faults', layerSize: 4096})
let registry: FakeRegistry
let manifestUrl: string
let blobUrl: string

beforeAll(async () => {
  registry = await startFakeRegistry()
  await pushImage(registry.url, 'f/app', image, 'v1')
  registry.clearLog()
  manifestUrl = `${registry.url}/v2/f/app/manifests/v1`
  blobUrl = `${registry.url}/v2/f/app/blobs/${image.layers[0]!.digest}`
})
afterEach(() => {
  registry.clearFaults()
  registry.clearLog()
})
afterAll(() => registry.stop())

const get = (url: string, init: RequestInit = {}) => fetch(url, {...init, headers: {Accept: MANIFEST_ACCEPT, ...(init.headers as Record<string, string>)}})

describe('status faults', () => {
  test('tooManyRequests: the first N matching requests get 429 + Retry-After, then normal service', async () => {
    const fault = registry.addFault(tooManyRequests({method: 'GET', path: /\/manifests\//, times: 2}, 1))
    const first = await get(manifestUrl)
    expect(first.status).toBe(429)
    expect(first.headers.get('retry-after')).toBe('1')
    expect(((await first.json()) as {errors: {code: string}[]}).errors[0]?.code).toBe('TOOMANYREQUESTS')
    expect((await get(blobUrl)).status).toBe(200) // not matching: untouched, not counted
    expect((await get(manifestUrl)).status).toBe(429)
    expect((await get(manifestUrl)).status).toBe(200)
    expect([fault.hits, fault.remaining]).toEqual([2, 0])
    expect(registry.requests.map((entry) => entry.status)).toEqual([429, 200, 429, 200])
    expect(registry.requests[0]?.faults).toEqual(['too many requests'])
    expect(registry.count('GET', /\/manifests\//)).toBe(3)
  })

  test('serverError and serviceUnavailable', async () => {
    registry.addFault(serverError({method: 'HEAD'}))
    registry.addFault(serviceUnavailable({path: /\/blobs\//, times: Infinity}))
    expect((await get(manifestUrl, {method: 'HEAD'})).status).toBe(500)
    expect((await get(manifestUrl, {method: 'HEAD'})).status).toBe(200)
    expect((await get(blobUrl)).status).toBe(503)
    expect((await get(blobUrl)).status).toBe(503)
  })

  test('a custom predicate and action', async () => {
    registry.addFault({
      name: 'teapot for HEAD with a token',
      method: 'HEAD',
      when: (ctx) => ctx.request.headers.has('x-test'),
      action: () => new Response(null, {status: 418}),
    })
    expect((await get(manifestUrl, {method: 'HEAD'})).status).toBe(200)
    expect((await get(manifestUrl, {method: 'HEAD', headers: {'x-test': '1'}})).status).toBe(418)
  })
})

describe('connection faults', () => {
  test('resetConnection before the response: fetch rejects', async () => {
    // times: 2 because of the Bun quirk below: on a pooled connection Bun's fetch retries once by itself.
    registry.addFault(resetConnection({path: /\/manifests\//, times: 2}))
    await expect(get(manifestUrl)).rejects.toThrow()
    expect((await get(manifestUrl)).status).toBe(200)
  })

  test('Bun quirk: fetch silently retries a GET once when a kept-alive connection is reset', async () => {
    await (await get(manifestUrl)).arrayBuffer() // leaves a pooled connection
    registry.clearLog()
    registry.addFault(resetConnection({path: /\/manifests\//}))
    expect((await get(manifestUrl)).status).toBe(200)
    expect(registry.requests.map((entry) => entry.faults.length)).toEqual([1, 0])
  })

  test('resetConnection mid-body: headers arrive, reading the body fails', async () => {
    registry.addFault(resetConnection({path: /\/blobs\//}, 100))
    const response = await get(blobUrl)
    expect(response.status).toBe(200)
    await expect(response.arrayBuffer()).rejects.toThrow()
  })

  test('delay: a client with a shorter timeout gives up; a patient one gets the answer', async () => {
    registry.addFault(delay(300, {path: /\/manifests\//, times: 2}))
    await expect(get(manifestUrl, {signal: AbortSignal.timeout(50)})).rejects.toThrow()
    const started = performance.now()
    expect((await get(manifestUrl)).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(250)
  })
})

describe('content faults', () => {
  test('omitDigestHeader drops Docker-Content-Digest on HEAD and GET only while active', async () => {
    registry.addFault(omitDigestHeader({times: 2}))
    const head = await get(manifestUrl, {method: 'HEAD'})
    expect(head.status).toBe(200)
    expect(head.headers.get('docker-content-digest')).toBeNull()
    expect(head.headers.get('content-length')).toBe(String(image.bytes.length))
    const got = await get(manifestUrl)
    expect(got.headers.get('docker-content-digest')).toBeNull()
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(image.bytes))).toBe(true)
    expect((await get(manifestUrl)).headers.get('docker-content-digest')).toBe(image.digest)
  })

  test('corruptManifest: one byte differs, headers still claim the original digest', async () => {
    registry.addFault(corruptManifest())
    const response = await get(manifestUrl)
    expect(response.headers.get('docker-content-digest')).toBe(image.digest)
    const bytes = new Uint8Array(await response.arrayBuffer())
    expect(bytes.length).toBe(image.bytes.length)
    expect(bytes.filter((byte, i) => byte !== image.bytes[i]).length).toBe(1)
    expect(sha256Digest(bytes)).not.toBe(image.digest)
  })

  test('corruptBlob: the blob does not hash to its digest', async () => {
    registry.addFault(corruptBlob())
    const headOnly = await get(manifestUrl)
    expect(sha256Digest(new Uint8Array(await headOnly.arrayBuffer()))).toBe(image.digest) // manifests untouched
    const bytes = new Uint8Array(await (await get(blobUrl)).arrayBuffer())
    expect(bytes.length).toBe(4096)
    expect(sha256Digest(bytes)).not.toBe(image.layers[0]!.digest)
  })

  test('refuseMount: 202 and an upload session although the source has the blob', async () => {
    const digest = image.layers[0]!.digest
    const mountUrl = `${registry.url}/v2/f/mirror/blobs/uploads/?mount=${digest}&from=f/app`
    const fault = registry.addFault(refuseMount())
    const refused = await fetch(mountUrl, {method: 'POST'})
    expect(refused.status).toBe(202)
    expect(refused.headers.get('location')).toStartWith(`${registry.url}/v2/f/mirror/blobs/uploads/`)
    expect(fault.hits).toBe(1)
    expect(registry.storage.hasBlob('f/mirror', digest)).toBe(false)
    expect((await fetch(refused.headers.get('location')!, {method: 'DELETE'})).status).toBe(204)
    expect((await fetch(mountUrl, {method: 'POST'})).status).toBe(201)
    expect(registry.requests.map((entry) => entry.query)).toContain(`mount=${digest}&from=f/app`)
  })
})

describe('seeding and protocol details', () => {
  test('putManifest seeds without validation; HEAD keeps Content-Length; chunked uploads verify order', async () => {
    const schema1 = new TextEncoder().encode('{"schemaVersion":1}')
    const digest = registry.putManifest('legacy', 'old', schema1, MediaType.DockerSchema1Signed)
    expect(digest).toBe(sha256Digest(schema1))
    const head = await fetch(`${registry.url}/v2/legacy/manifests/old`, {method: 'HEAD'})
    expect(head.headers.get('content-length')).toBe(String(schema1.length))

    const start = await fetch(`${registry.url}/v2/chunks/blobs/uploads/`, {method: 'POST'})
    const location = start.headers.get('location')!
    const one = await fetch(location, {method: 'PATCH', body: 'hello ', headers: {'Content-Range': '0-5'}})
    expect([one.status, one.headers.get('range')]).toEqual([202, '0-5'])
    const bad = await fetch(location, {method: 'PATCH', body: 'x', headers: {'Content-Range': '0-0'}})
    expect(bad.status).toBe(416)
    const done = await fetch(`${location}?digest=${sha256Digest('hello world')}`, {method: 'PUT', body: 'world'})
    expect(done.status).toBe(201)
    expect(done.headers.get('docker-content-digest')).toBe(sha256Digest('hello world'))

    const mono = await fetch(`${registry.url}/v2/chunks/blobs/uploads/?digest=${sha256Digest('mono')}`, {
      method: 'POST',
      body: 'mono',
    })
    expect(mono.status).toBe(201)
    expect((await fetch(`${registry.url}/v2/Bad_Name/tags/list`)).status).toBe(400)
  })

  test('relative Locations and no Accept checks when asked', async () => {
    const relaxed = await startFakeRegistry({relativeLocations: true, strictAccept: false})
    try {
      await pushImage(relaxed.url, 'x', image, 'v1')
      const start = await fetch(`${relaxed.url}/v2/x/blobs/uploads/`, {method: 'POST'})
      expect(start.headers.get('location')).toStartWith('/v2/x/blobs/uploads/')
      expect((await fetch(`${relaxed.url}/v2/x/manifests/v1`)).status).toBe(200)
    } finally {
      await relaxed.stop()
    }
  })
})

describe('write races', () => {
  test('slowManifestPut: while a PUT of the manifest waits, it reads as absent and an index listing it is refused', async () => {
    const index = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [{mediaType: image.mediaType, digest: image.digest, size: image.bytes.length}],
      }),
    )
    const put = (reference: string, bytes: Uint8Array, mediaType: string) =>
      fetch(`${registry.url}/v2/f/app/manifests/${reference}`, {method: 'PUT', body: bytes, headers: {'content-type': mediaType}})
    registry.addFault(slowManifestPut(image.digest, [300]))
    const writing = put(image.digest, image.bytes, image.mediaType)
    await Bun.sleep(100)
    expect((await fetch(`${registry.url}/v2/f/app/manifests/${image.digest}`, {method: 'HEAD', headers: {accept: MANIFEST_ACCEPT}})).status).toBe(404)
    const refused = await put(sha256Digest(index), index, MediaType.OciIndex)
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as {errors: {code: string}[]}).errors.map((e) => e.code)).toEqual(['DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN'])
    expect((await writing).status).toBe(201)
    expect((await put(sha256Digest(index), index, MediaType.OciIndex)).status).toBe(201)
  })
})

describe('load faults', () => {
  test('concurrencyLimit: beyond N in flight a request gets 429 + Retry-After at once; N at a time are all served', async () => {
    // A registry of its own: the burst leaves pooled connections that would change Bun's retries in the tests above.
    const loaded = await startFakeRegistry()
    try {
      await pushImage(loaded.url, 'f/app', image, 'v1')
      const fault = concurrencyLimit({limit: 3, retryAfterSeconds: 2, serviceMs: 50}, {method: 'GET', path: /\/manifests\//})
      loaded.addFault(fault)
      const url = `${loaded.url}/v2/f/app/manifests/v1`
      const burst = await Promise.all(Array.from({length: 5}, () => get(url)))
      expect(burst.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429])
      expect(burst.find((r) => r.status === 429)?.headers.get('retry-after')).toBe('2')
      expect((await get(`${loaded.url}/v2/f/app/blobs/${image.layers[0]!.digest}`)).status).toBe(200) // not matching: not counted
      expect((await Promise.all(Array.from({length: 3}, () => get(url)))).map((r) => r.status)).toEqual([200, 200, 200])
      expect(fault.state).toEqual({inFlight: 0, peak: 3, served: 6, throttled: 2})
    } finally {
      await loaded.stop()
    }
  })
})
