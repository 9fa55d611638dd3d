/**
 * Issue 15, items 1 and 3: one entry's wrong descriptor must not decide another entry's outcome. A manifest that
 * lists a blob (or an index that lists a child manifest) with a size other than its own fails, and an entry of the
 * same apply that lists the same content correctly is copied, whichever of the two reaches the shared content
 * first. The order is forced: the second entry's first request (the HEAD of its target tag) waits 300 ms and the
 * first entry's read of the shared content waits 600 ms, so the second need arrives while the first is in flight.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {delay, type FakeRegistry} from '../support/fake-registry/index.ts'
import {type Image, makeImage, makeIndex, pushImage, pushIndex, putManifest} from '../support/images.ts'
import {misSized} from '../support/manifest-variants.ts'
import {apply, assertTagsComplete, cleanUpAfterEach, fake, planFor} from './apply-helpers.ts'

setDefaultTimeout(60_000)
cleanUpAfterEach()

type Order = 'invalid first' | 'valid first'

/** Makes `second` start 300 ms late and the first read of `shared` from the source take 600 ms. */
function force(order: Order, source: FakeRegistry, target: FakeRegistry, shared: RegExp): void {
  const late = order === 'invalid first' ? 'good' : 'bad'
  target.addFault(delay(300, {method: 'HEAD', path: new RegExp(`/manifests/${late}$`)}))
  source.addFault(delay(600, {method: 'GET', path: shared}))
}

/** The result of the entry whose source tag is `tag`. */
function resultOf(result: Awaited<ReturnType<typeof apply>>, tag: string) {
  return result.entries.find((e) => e.source.endsWith(`:${tag}`))!.result
}

describe('a wrong blob size in one entry', () => {
  const orders: Order[] = ['invalid first', 'valid first']

  test.each(orders)('a config listed one byte too large, same target repository, %s: the valid entry is copied, the invalid fails', async (order) => {
    const source = await fake()
    const target = await fake()
    const image = makeImage({flavor: 'oci', seed: 'sized-config'})
    await pushImage(source.url, 'acme/app', image, 'good')
    const bad = misSized(image, (m) => m.config!)
    await putManifest(source.url, 'acme/app', 'bad', bad.bytes, image.mediaType)
    const planned = await planFor(source, target, ['acme/app:bad', 'acme/app:good'])
    force(order, source, target, new RegExp(`/blobs/${image.config.digest}$`))

    const result = await apply(target, planned)

    expect(resultOf(result, 'good')).toEqual({kind: 'copied'})
    expect(resultOf(result, 'bad').kind).toBe('failed')
    expect((resultOf(result, 'bad') as {message: string}).message).toContain(image.config.digest)
    await assertTagsComplete(target)
  })

  test.each(orders)(
    'a layer listed one byte too large, another target repository (a mount), %s: the valid entry is copied, the invalid fails',
    async (order) => {
      const source = await fake()
      const target = await fake()
      const image = makeImage({flavor: 'oci', seed: 'sized-layer'})
      await pushImage(source.url, 'acme/good', image, 'good')
      const bad = misSized(image, (m) => m.layers![0]!)
      await pushImage(source.url, 'acme/bad', image)
      await putManifest(source.url, 'acme/bad', 'bad', bad.bytes, image.mediaType)
      const planned = await planFor(source, target, ['acme/bad:bad', 'acme/good:good'])
      force(order, source, target, new RegExp(`/blobs/${image.layers[0]!.digest}$`))

      const result = await apply(target, planned)

      expect(resultOf(result, 'good')).toEqual({kind: 'copied'})
      expect(resultOf(result, 'bad').kind).toBe('failed')
      expect((resultOf(result, 'bad') as {message: string}).message).toContain(image.layers[0]!.digest)
      await assertTagsComplete(target)
    },
  )
})

describe('a wrong child manifest size in one entry', () => {
  test.each(['invalid first', 'valid first'] as Order[])(
    'an index listing its child one byte too large, %s: the valid index is copied, the invalid fails',
    async (order) => {
      const source = await fake()
      const target = await fake()
      const index = makeIndex({
        flavor: 'oci',
        seed: 'sized-child',
        platforms: [
          {os: 'linux', architecture: 'amd64'},
          {os: 'linux', architecture: 'arm64'},
        ],
      })
      await pushIndex(source.url, 'acme/multi', index, 'good')
      const child: Image = index.children[0]!
      const bad = misSized(index, (m) => m.manifests!.find((d) => d.digest === child.digest)!)
      await putManifest(source.url, 'acme/multi', 'bad', bad.bytes, index.mediaType)
      const planned = await planFor(source, target, ['acme/multi:bad', 'acme/multi:good'])
      force(order, source, target, new RegExp(`/manifests/${child.digest}$`))

      const result = await apply(target, planned)

      expect(resultOf(result, 'good')).toEqual({kind: 'copied'})
      expect(resultOf(result, 'bad').kind).toBe('failed')
      expect((resultOf(result, 'bad') as {message: string}).message).toContain(child.digest)
      await assertTagsComplete(target)
    },
  )
})
