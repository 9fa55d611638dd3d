/** The one check of blob bytes in flight, for every copy the engine makes. */
import {type Digest, streamingDigest} from '../ref/digest.ts'
import {ContentError} from '../registry/errors.ts'

/**
 * Passes the source bytes through while hashing and counting them. Too many bytes error the stream at once;
 * wrong bytes of the right length error it at its end, and the registry, which checks the `?digest=` of the
 * PUT, refuses them anyway (DIGEST_INVALID), as does a layout. Either way wrong bytes are never stored.
 */
export function verified(body: ReadableStream<Uint8Array>, blob: {digest: Digest; size: number}, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  const hasher = streamingDigest(blob.digest)
  let seen = 0
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength
        if (seen > blob.size) {
          controller.error(new ContentError('DIGEST_MISMATCH', `blob ${blob.digest} is longer than its ${blob.size} bytes: refusing it`))
          return
        }
        hasher.update(chunk)
        onBytes(chunk.byteLength)
        controller.enqueue(chunk)
      },
      flush(controller) {
        const actual = hasher.digest()
        if (seen !== blob.size || actual !== blob.digest) {
          controller.error(new ContentError('DIGEST_MISMATCH', `blob ${blob.digest} was served with ${seen} bytes hashing to ${actual}: refusing it`))
        }
      },
    }),
  )
}
