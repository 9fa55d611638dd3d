/** What the registry layer adds to transport errors: content that is not what it claims to be. */
export class ContentError extends Error {
  override readonly name = 'ContentError'
  constructor(
    readonly code: 'DIGEST_MISMATCH' | 'MANIFEST_TOO_LARGE' | 'BLOB_TOO_LARGE',
    message: string,
  ) {
    super(message)
  }
}
