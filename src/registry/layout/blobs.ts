/**
 * Blobs of a layout (`blobs/<alg>/<hex>`): existence, verified streaming reads, verified streaming writes.
 * A blob is trusted only after its bytes hash to its name: a layout carried across an air gap may have been
 * damaged or tampered with on the way, and the registry we copy into may not check for us.
 */
import {dirname} from 'node:path'
import {link, open, rename, unlink} from 'node:fs/promises'
import {type Digest, digestAlgorithm, digestOf, streamingDigest} from '../../ref/digest.ts'
import {LayoutError} from '../layout-errors.ts'
import {blobPath, ensureDirectoryInside, openInside, readInside, realInside, sizeInside, syncDirectory} from './files.ts'

/** Read size for streaming: large enough for throughput, small enough not to matter for memory. */
const CHUNK_BYTES = 256 * 1024

/** A blob being read: its size on disk and its bytes, verified against its name while they stream. */
export interface BlobStream {
  size: number
  body: ReadableStream<Uint8Array>
}

/** What putBlob did: wrote the blob, or found it already there (present blobs are never rewritten). */
export type BlobPut = {kind: 'written'} | {kind: 'exists'}

/** The blob's size when the layout has it, null when not. */
export function headBlob(root: string, digest: Digest): Promise<number | null> {
  return sizeInside(root, blobPath(root, digest))
}

/**
 * Opens a blob as a stream; null when absent. The last chunk is held back until the end of the file has been
 * read and hashed: a blob whose bytes do not hash to its name errors the stream instead of closing it, so a
 * consumer (an upload, a hash) never sees a complete-looking body of wrong bytes.
 *
 * `declaredSize` is the descriptor's: a file of another size is refused before a byte is read (a sparse 8 GiB
 * file named for a 4 KiB layer costs nothing on disk and would otherwise be hashed to its end). Whatever the
 * size, no more is read than the file had when opened: bytes appended later are not part of the blob.
 */
export async function openBlob(root: string, digest: Digest, declaredSize?: number): Promise<BlobStream | null> {
  const path = blobPath(root, digest)
  const file = await openInside(root, path)
  if (file === null) return null
  const {handle, size} = file
  if (declaredSize !== undefined && size !== declaredSize) {
    await handle.close()
    throw new LayoutError('SIZE_MISMATCH', path, `${path} is ${size} bytes, but its descriptor says ${declaredSize}`)
  }
  const hasher = streamingDigest(digest)
  let position = 0
  let held: Uint8Array | null = null
  const finish = async () => {
    await handle.close().catch(() => undefined)
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const want = Math.min(CHUNK_BYTES, size - position)
          const buffer = new Uint8Array(want)
          const {bytesRead} = want === 0 ? {bytesRead: 0} : await handle.read(buffer, 0, want, position)
          if (bytesRead === 0) {
            await finish()
            const actual = hasher.digest()
            if (actual !== digest) {
              controller.error(new LayoutError('DIGEST_MISMATCH', path, `${path} does not hash to its name: its bytes are ${actual}`))
              return
            }
            if (held !== null) controller.enqueue(held)
            controller.close()
            return
          }
          const chunk = buffer.subarray(0, bytesRead)
          position += bytesRead
          hasher.update(chunk)
          const previous = held
          held = chunk
          if (previous !== null) {
            controller.enqueue(previous)
            return
          }
        }
      } catch (err) {
        await finish()
        controller.error(err)
      }
    },
    cancel: finish,
  })
  return {size, body}
}

/** A whole small blob (a manifest, a config), verified; null when absent. */
export async function readBlob(root: string, digest: Digest, limit: number, what: string): Promise<Uint8Array | null> {
  const path = blobPath(root, digest)
  const bytes = await readInside(root, path, limit, what)
  if (bytes === null) return null
  const actual = digestOf(bytes, digestAlgorithm(digest))
  if (actual !== digest) throw new LayoutError('DIGEST_MISMATCH', path, `${path} does not hash to its name: its bytes are ${actual}`)
  return bytes
}

/**
 * Writes a blob from a stream: into a temporary file in its final directory, hashing as it goes; the digest
 * and size are checked, the file fsynced and renamed into place. A blob already present is left as it is and
 * the stream cancelled. Two writers of the same blob may both rename: they carry the same verified bytes.
 */
export async function putBlob(root: string, blob: {digest: Digest; size: number; body: ReadableStream<Uint8Array>}): Promise<BlobPut> {
  const path = blobPath(root, blob.digest)
  if ((await headBlob(root, blob.digest)) !== null) {
    await blob.body.cancel().catch(() => undefined)
    return {kind: 'exists'}
  }
  const dir = await ensureDirectoryInside(root, dirname(path))
  const temp = `${dir}/.${crypto.randomUUID()}.tmp`
  const handle = await open(temp, 'wx', 0o644)
  const reader = blob.body.getReader()
  let committed = false
  try {
    const hasher = streamingDigest(blob.digest)
    let written = 0
    for (;;) {
      const {done, value} = await reader.read()
      if (done) break
      written += value.byteLength
      if (written > blob.size) {
        await reader.cancel().catch(() => undefined)
        throw sizeMismatch(path, blob, `more than ${blob.size}`)
      }
      hasher.update(value)
      await handle.write(value)
    }
    if (written !== blob.size) throw sizeMismatch(path, blob, String(written))
    const actual = hasher.digest()
    if (actual !== blob.digest) {
      throw new LayoutError('DIGEST_MISMATCH', path, `${path} was not written: the bytes given for ${blob.digest} hash to ${actual}`)
    }
    await handle.sync()
    await handle.close()
    await rename(temp, path)
    committed = true
    await syncDirectory(dir)
    return {kind: 'written'}
  } finally {
    if (!committed) {
      await handle.close().catch(() => undefined)
      await unlink(temp).catch(() => undefined)
    }
    reader.releaseLock()
  }
}

/**
 * Places a blob by hard-linking it from another layout (a layout tree's cross-repository mount): blobs are
 * immutable and named by their hash, so layouts may share the file, and a tree of many repositories holds a
 * shared base layer once. The other layout's file is read and hashed first (it is only trusted as far as its
 * bytes are), then linked in atomically. False when it cannot be (absent, another file system): copy instead.
 */
export async function linkBlob(root: string, fromRoot: string, digest: Digest, declaredSize?: number): Promise<boolean> {
  const source = await openBlob(fromRoot, digest, declaredSize)
  if (source === null) return false
  for await (const _chunk of source.body) {
    // Reading to the end is what verifies: the stream errors on bytes that do not hash to the name.
  }
  const from = await realInside(fromRoot, blobPath(fromRoot, digest))
  if (from === null) return false
  const path = blobPath(root, digest)
  const dir = await ensureDirectoryInside(root, dirname(path))
  const temp = `${dir}/.${crypto.randomUUID()}.tmp`
  try {
    await link(from, temp)
    await rename(temp, path)
  } catch {
    await unlink(temp).catch(() => undefined)
    return false
  }
  await syncDirectory(dir)
  return true
}

function sizeMismatch(path: string, blob: {digest: Digest; size: number}, got: string): LayoutError {
  return new LayoutError('SIZE_MISMATCH', path, `${path} was not written: ${blob.digest} should be ${blob.size} bytes but ${got} were given`)
}
