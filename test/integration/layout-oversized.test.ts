/**
 * A layer file far larger than its descriptor (issue 16): a sparse 8 GiB file named for a 4 KiB layer costs no
 * disk, yet was hashed to its end before being refused. The descriptor's size is compared with the file's
 * before a byte is read, and no more than the declared size is ever read. Each test is bounded well below the
 * time hashing 8 GiB takes, so a regression fails instead of holding up the suite.
 */
import {afterAll, describe, expect, test} from 'bun:test'
import {appendFile, truncate} from 'node:fs/promises'
import {join} from 'node:path'
import {CopyEngine} from '../../src/copy/engine.ts'
import {LayoutRepository} from '../../src/registry/layout/repository.ts'
import {LayoutError} from '../../src/registry/layout-errors.ts'
import {blobPath} from '../../src/registry/layout/files.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {rejectedWith} from '../support/errors.ts'
import {makeImage} from '../support/images.ts'
import {readAll, storeImage, tempDir} from '../support/layout.ts'
import {testPace} from '../support/pace.ts'

const SPARSE_BYTES = 8 * 1024 ** 3
const BOUND_MS = 5_000

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

/** A layout holding one image of a 4 KiB layer, whose file is then grown, sparse, to 8 GiB. */
async function sparseLayer() {
  const {dir, cleanup} = await tempDir('oversized')
  cleanups.push(cleanup)
  const layout = await openLayout(join(dir, 'repo'), {create: true, pace: testPace()})
  const image = makeImage({flavor: 'oci', layers: 1, layerSize: 4096})
  await storeImage(layout, image, 'v1')
  const layer = image.layers[0]!
  const path = blobPath(layout.root, layer.digest)
  await truncate(path, SPARSE_BYTES)
  return {repo: new LayoutRepository(layout.root, 'source', {pace: testPace()}), image, layer, path}
}

describe('a layout blob larger than its descriptor', () => {
  test(
    'is refused by its size before it is read',
    async () => {
      const {repo, layer, path} = await sparseLayer()
      const err = await rejectedWith(LayoutError, repo.getBlob(layer.digest, {size: layer.bytes.length}))
      expect(err.code).toBe('SIZE_MISMATCH')
      expect(err.message).toBe(`${path} is ${SPARSE_BYTES} bytes, but its descriptor says ${layer.bytes.length}`)
    },
    BOUND_MS,
  )

  test(
    'stops the check apply makes of a layout source before writing anything',
    async () => {
      const {repo, image} = await sparseLayer()
      const err = await rejectedWith(LayoutError, new CopyEngine({transfers: 2, pace: testPace()}).verifySource(repo, await repo.getManifest('v1')))
      expect(err.code).toBe('SIZE_MISMATCH')
      expect(err.message).toContain(image.layers[0]!.digest.slice('sha256:'.length))
    },
    BOUND_MS,
  )

  test(
    'a file that grows while it is read is not read past the size it had',
    async () => {
      const {dir, cleanup} = await tempDir('oversized')
      cleanups.push(cleanup)
      const layout = await openLayout(join(dir, 'repo'), {create: true, pace: testPace()})
      const image = makeImage({flavor: 'oci', layers: 1, layerSize: 1024 * 1024})
      await storeImage(layout, image, 'v1')
      const layer = image.layers[0]!
      const stream = await new LayoutRepository(layout.root, 'source', {pace: testPace()}).getBlob(layer.digest, {size: layer.bytes.length})
      // Grown after the open: the bytes past the declared size are never read, so the blob still verifies.
      await appendFile(blobPath(layout.root, layer.digest), new Uint8Array(SPARSE_BYTES / 1024))
      expect(await readAll(stream)).toStrictEqual(layer.bytes)
    },
    BOUND_MS,
  )
})
