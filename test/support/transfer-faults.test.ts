/** The large-transfer faults and the fake registry's ranges and chunk sessions, seen from the server's log. */
import {afterAll, afterEach, beforeAll, describe, expect, test} from 'bun:test'
import {type FakeRegistry, ignoreRanges, refuseLargeBody, resetMidChunk, startFakeRegistry} from './fake-registry/index.ts'

let registry: FakeRegistry
const bytes = new Uint8Array(4096).map((_, i) => i % 251)
let blobUrl: string

beforeAll(async () => {
  registry = await startFakeRegistry()
  blobUrl = `${registry.url}/v2/f/big/blobs/${registry.putBlob('f/big', bytes)}`
})
afterEach(() => {
  registry.clearFaults()
  registry.clearLog()
})
afterAll(() => registry.stop())

async function session(): Promise<string> {
  const post = await fetch(`${registry.url}/v2/f/big/blobs/uploads/`, {method: 'POST'})
  return post.headers.get('location')!
}

describe('blob ranges', () => {
  test('Range: bytes=N- gets the rest with 206 and Content-Range; the log keeps the header', async () => {
    const response = await fetch(blobUrl, {headers: {range: 'bytes=1000-'}})
    expect(response.status).toBe(206)
    expect(response.headers.get('content-range')).toBe('bytes 1000-4095/4096')
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes.subarray(1000))
    expect(registry.requests.map((r) => r.range)).toEqual(['bytes=1000-'])
  })

  test('a range past the end is 416', async () => {
    expect((await fetch(blobUrl, {headers: {range: 'bytes=4096-'}})).status).toBe(416)
  })

  test('ignoreRanges: the whole blob with 200', async () => {
    registry.addFault(ignoreRanges())
    const response = await fetch(blobUrl, {headers: {range: 'bytes=1000-'}})
    expect(response.status).toBe(200)
    expect((await response.arrayBuffer()).byteLength).toBe(4096)
  })
})

describe('upload faults', () => {
  test('refuseLargeBody: 413 for a PUT over the limit, every time; smaller ones pass', async () => {
    registry.addFault(refuseLargeBody(1024))
    const location = new URL(await session())
    location.searchParams.set('digest', `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`)
    expect((await fetch(location, {method: 'PUT', body: bytes})).status).toBe(413)
    expect((await fetch(location, {method: 'PUT', body: bytes})).status).toBe(413)
    const patch = await fetch(location, {method: 'PATCH', body: bytes, headers: {'content-range': '0-4095'}})
    expect(patch.status).toBe(202)
  })

  test('resetMidChunk: the registry keeps the first half, the client sees a reset, the status tells the offset', async () => {
    registry.addFault(resetMidChunk())
    const location = await session()
    const cut = await fetch(location, {method: 'PATCH', body: bytes, headers: {'content-range': '0-4095'}}).then(
      () => 'answered',
      () => 'reset',
    )
    expect(cut).toBe('reset')
    const status = await fetch(location)
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe('0-2047')
    expect(registry.requests.filter((r) => r.method === 'PATCH').map((r) => [r.contentRange, r.faults])).toEqual([['0-4095', ['reset mid-chunk']]])
  })
})
