/** What the registry layer adds to transport errors: content that is not what it claims to be. */
import {SyncerError} from '../ref/errors.ts'
export class ContentError extends SyncerError {
  override readonly name = 'ContentError'
  readonly category = 'content' as const
  constructor(
    readonly code: 'DIGEST_MISMATCH' | 'SIZE_MISMATCH' | 'MANIFEST_TOO_LARGE' | 'BLOB_TOO_LARGE',
    message: string,
  ) {
    super(message)
  }
}
