/**
 * Upload session Locations are followed only where a redirect would be: https, or http where plain HTTP is
 * allowed. A registry (or something in front of it) that answers an upload POST or PATCH with a `file:` URL, or
 * with plain HTTP to a host that is neither loopback nor --insecure-registry, fails that blob in one sentence
 * before anything is sent there, against the in-process registry.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {applyPlan} from '../../src/apply/apply.ts'
import {connectRegistries} from '../../src/registry/connect.ts'
import {RegistryError} from '../../src/transport/errors.ts'
import type {RequestEvent} from '../../src/transport/transport.ts'
import {type FakeRegistry, moveUploadSession} from '../support/fake-registry/index.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {cleanUpAfterEach, clientFor, fake, type Planned, planFor, workdir} from './apply-helpers.ts'

setDefaultTimeout(20_000)
cleanUpAfterEach()

/** A source with one image, a target, the plan between them, and a path where a `file:` session would write. */
async function seeded() {
  const source = await fake()
  const target = await fake()
  const image = makeImage({flavor: 'oci', layers: 1, layerSize: 64 * 1024})
  await pushImage(source.url, 'acme/app', image, '1')
  const planned = await planFor(source, target, ['acme/app:1'])
  const file = join(await workdir(), 'session')
  return {target, planned, image, file}
}

describe('an upload POST answered with a file: Location', () => {
  test('fails the entry naming the Location; nothing is written to the local file and no blob counts as uploaded', async () => {
    const {target, planned, file} = await seeded()
    target.addFault(moveUploadSession(`file://${file}`, {times: Infinity}))
    const {client} = await clientFor(target, planned)
    const result = await applyPlan(planned.plan, client, {pace: planned.registryOptions.pace})
    const outcome = result.entries[0]!
    expect(outcome.result.kind).toBe('failed')
    const message = outcome.result.kind === 'failed' ? outcome.result.message : ''
    expect(message).toContain(`POST ${target.url}/v2/mirror/`)
    expect(message).toContain(`refusing the upload session Location "file://${file}": only https session URLs are followed`)
    expect(message).not.toContain('\n')
    expect(outcome.blobs.uploaded).toBe(0)
    expect(existsSync(file)).toBe(false)
  })
})

describe('chunked uploads whose PATCH answer moves the session', () => {
  test('to a file: URL: the blob fails after that PATCH, nothing follows it, the real session is abandoned', async () => {
    const {target, planned, image, file} = await seeded()
    target.addFault(moveUploadSession(`file://${file}`, {method: 'PATCH', times: Infinity}))
    const {client} = await connectChunked(target, planned)
    const layer = image.layers[0]!
    const err = await client
      .repository({registry: target.host, repository: 'mirror/chunked'})
      .putBlob({digest: layer.digest, size: layer.bytes.byteLength, open: async () => new Blob([layer.bytes]).stream()})
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RegistryError)
    expect((err as RegistryError).method).toBe('PATCH')
    expect((err as RegistryError).message).toContain(`refusing the upload session Location "file://${file}"`)
    expect(existsSync(file)).toBe(false)
    expect(target.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1)
    expect(target.requests.filter((r) => r.method === 'PUT')).toHaveLength(0)
    expect(target.storage.uploads.size).toBe(0)
  })

  test('to plain HTTP on a host that is neither loopback nor --insecure-registry: refused before any request', async () => {
    const {target, planned, image} = await seeded()
    // 0.0.0.0 reaches this machine, so nothing leaves it even where the Location was followed; yet it is no loopback name.
    const elsewhere = `http://0.0.0.0:${new URL(target.url).port}/v2/mirror/chunked/blobs/uploads/x`
    target.addFault(moveUploadSession(elsewhere, {method: 'PATCH'}))
    const {client, events} = await connectChunked(target, planned)
    const layer = image.layers[0]!
    const err = await client
      .repository({registry: target.host, repository: 'mirror/chunked'})
      .putBlob({digest: layer.digest, size: layer.bytes.byteLength, open: async () => new Blob([layer.bytes]).stream()})
      .catch((e: unknown) => e)
    expect((err as RegistryError).message).toContain(`refusing the upload session Location "${elsewhere}"`)
    expect(events.filter((e) => e.url.includes('0.0.0.0'))).toEqual([])
  })
})

/** A client as apply connects it, uploading in chunks smaller than the layer. */
async function connectChunked(target: FakeRegistry, planned: Planned) {
  const events: RequestEvent[] = []
  const client = await connectRegistries(
    {...planned.registryOptions, targetRegistry: target.host, chunkSize: 16 * 1024, onRequest: (e) => events.push(e)},
    'test',
  )
  return {client, events}
}
