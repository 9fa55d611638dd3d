/** Blob placement over the in-memory store: which calls each way of placing a blob takes, and what it refuses. */
import {testPace} from '../../test/support/pace.ts'
import {describe, expect, test} from 'bun:test'
import {sha256Digest} from '../ref/digest.ts'
import {ContentError} from '../registry/errors.ts'
import type {Repository} from '../registry/handle.ts'
import {Limiter} from '../transport/limiter.ts'
import {RegistryError} from '../transport/errors.ts'
import {rejectedWith} from '../../test/support/errors.ts'
import {blobSource} from '../../test/support/handle-seed.ts'
import {pseudoRandomBytes} from '../../test/support/images.ts'
import {type MemoryRepository, MemoryStores} from '../../test/support/memory-store.ts'
import {type BlobNeed, BlobPlacement, type BlobRoute} from './blob-placement.ts'

const SOURCE: Repository = {registry: 'source.test', repository: 'acme/app'}
const TARGET: Repository = {registry: 'target.test', repository: 'mirror/app'}

function blobOf(bytes: Uint8Array) {
  return {bytes, digest: sha256Digest(bytes)}
}

const layer = blobOf(pseudoRandomBytes('placement-layer', 700))
const config = blobOf(pseudoRandomBytes('placement-config', 90))
const emptyConfig = blobOf(new TextEncoder().encode('{}'))
const need = (blob: {bytes: Uint8Array; digest: BlobNeed['digest']}, kind: BlobNeed['kind'] = 'layer', size = blob.bytes.byteLength): BlobNeed => ({
  digest: blob.digest,
  size,
  kind,
})

/** A memory store whose source holds the test blobs, a placement with `attempts`, and routes that count bytes. */
async function setup(attempts = 3) {
  const memory = new MemoryStores()
  const source = memory.repository(SOURCE)
  for (const blob of [layer, config, emptyConfig]) await source.putBlob(blobSource(blob))
  memory.clearLog()
  const moved = {bytes: 0}
  const route = (target: MemoryRepository): BlobRoute => ({
    source,
    target,
    onBytes: (n) => {
      moved.bytes += n
    },
  })
  return {memory, source, target: memory.repository(TARGET), route, moved, placement: new BlobPlacement(new Limiter(4), attempts, testPace(), undefined)}
}

describe('placing a blob', () => {
  test('one need per repository, digest and size does the work; the others share it and count it present', async () => {
    const {memory, target, route, moved, placement} = await setup()
    const outcomes = await Promise.all([placement.ensure(route(target), need(layer)), placement.ensure(route(target), need(layer))])
    expect(outcomes).toStrictEqual(['uploaded', 'present'])
    expect([memory.count('putBlob', target), moved.bytes]).toStrictEqual([1, 700])
  })

  test('a layer is asked about first and, when there, neither read nor written', async () => {
    const {memory, source, target, route, placement} = await setup()
    await target.putBlob(blobSource(layer))
    memory.clearLog()
    expect(await placement.ensure(route(target), need(layer))).toBe('present')
    expect(memory.calls.map((c) => c.method)).toStrictEqual(['headBlob'])
    expect(memory.count('getBlob', source)).toBe(0)
  })

  test('an image config is uploaded without asking; the shared empty JSON config is asked about', async () => {
    const {memory, target, route, placement} = await setup()
    await target.putBlob(blobSource(emptyConfig))
    memory.clearLog()
    expect(await placement.ensure(route(target), need(config, 'config'))).toBe('uploaded')
    expect(await placement.ensure(route(target), need(emptyConfig, 'config'))).toBe('present')
    expect(
      memory.calls.filter((c) => c.repository === target.name).map((c) => `${c.method} ${c.reference === config.digest ? 'config' : 'empty'}`),
    ).toStrictEqual(['putBlob config', 'headBlob empty'])
  })

  test('a forgotten placement is placed again by the next need', async () => {
    const {memory, target, route, placement} = await setup()
    await placement.ensure(route(target), need(layer))
    memory.contents(TARGET).blobs.delete(layer.digest)
    placement.forget(target, need(layer))
    expect(await placement.ensure(route(target), need(layer))).toBe('uploaded')
    expect(memory.count('putBlob', target)).toBe(2)
  })

  test('a blob this run placed in one repository is mounted into another of the registry, not into another registry', async () => {
    const {memory, source, route, moved, placement} = await setup()
    const [one, two, elsewhere] = [
      memory.repository({...TARGET, repository: 'mirror/one'}),
      memory.repository({...TARGET, repository: 'mirror/two'}),
      memory.repository({registry: 'other.test', repository: 'mirror/one'}),
    ]
    expect(await placement.ensure(route(one), need(layer))).toBe('uploaded')
    expect(await placement.ensure(route(two), need(layer))).toBe('mounted')
    expect(await placement.ensure(route(elsewhere), need(layer))).toBe('uploaded')
    expect([memory.count('headBlob', two), memory.count('getBlob', source), moved.bytes]).toStrictEqual([0, 2, 1400])
  })
})

describe('refusing a blob', () => {
  test('one digest listed with two sizes: the need with the wrong one fails, the right one stands', async () => {
    const {memory, target, route, placement} = await setup()
    expect(await placement.ensure(route(target), need(layer))).toBe('uploaded')
    const err = await rejectedWith(ContentError, placement.ensure(route(target), need(layer, 'layer', 701)))
    expect(err.code).toBe('SIZE_MISMATCH')
    expect([memory.count('putBlob', target), memory.contents(TARGET).blobs.get(layer.digest)?.byteLength]).toStrictEqual([1, 700])
  })

  test('a size the target shows otherwise fails without an upload', async () => {
    const {memory, target, route, placement} = await setup()
    await target.putBlob(blobSource(layer))
    memory.clearLog()
    expect((await rejectedWith(ContentError, placement.ensure(route(target), need(layer, 'layer', 699)))).code).toBe('SIZE_MISMATCH')
    expect(memory.count('putBlob', target)).toBe(0)
  })

  test('source bytes that are not the blob are never stored (one attempt: a retry would back off for real)', async () => {
    const {memory, target, route, placement} = await setup(1)
    memory.contents(SOURCE).blobs.set(layer.digest, new Uint8Array(700))
    expect((await rejectedWith(ContentError, placement.ensure(route(target), need(layer)))).code).toBe('DIGEST_MISMATCH')
    expect(await target.headBlob(layer.digest)).toBeNull()
  })

  test('a refusal that is not temporary fails at the first attempt', async () => {
    const {memory, target, route, placement} = await setup()
    memory.fault = (call) => {
      if (call.method === 'putBlob')
        throw new RegistryError({method: 'POST', url: 'memory://target.test/v2/mirror/app/blobs/uploads/', status: 403, diagnostics: [{code: 'DENIED'}]})
    }
    expect((await rejectedWith(RegistryError, placement.ensure(route(target), need(layer)))).status).toBe(403)
    expect(memory.count('putBlob', target)).toBe(1)
  })
})
