/**
 * The one error of the OCI layout store. Every message is one sentence that names the file or directory at
 * fault, because the person reading it has to go and look at that path (a layout is often carried on a disk
 * or unpacked from a tar, where "a blob is corrupt" without a path is no help).
 *
 * Its category is one of the project's three that apply to a directory on disk: 'input' (the user pointed us at
 * something that is not a usable layout, or gave a bad name), 'not-found' (a manifest or blob asked for that the
 * layout does not have: absent, as a registry's 404 is, so callers check one category whichever store answered)
 * and 'content' (bytes on disk are not what they claim to be, or a file index.json lists is gone), so commands
 * render it as one sentence and planning files it with the other failures.
 */
import {type ErrorCategory, SyncerError} from '../ref/errors.ts'

export type LayoutErrorCode =
  /** The directory is missing, or is not an OCI image layout (no `oci-layout`, not a directory). */
  | 'NOT_A_LAYOUT'
  /** `oci-layout` names an `imageLayoutVersion` other than 1.0.0. */
  | 'UNSUPPORTED_LAYOUT_VERSION'
  /** `index.json` is missing, not JSON, not an image index, or lists an invalid digest. */
  | 'INVALID_INDEX'
  /** A tag is listed twice in `index.json` with different digests. */
  | 'AMBIGUOUS_TAG'
  /** `index.json` lists a manifest whose blob is not in the layout (damage, not absence). */
  | 'BLOB_MISSING'
  /** A blob asked for by digest that the layout does not have. */
  | 'BLOB_UNKNOWN'
  /** A blob's bytes do not hash to its name (or to the digest being written). */
  | 'DIGEST_MISMATCH'
  /** A blob's length differs from its descriptor's size. */
  | 'SIZE_MISMATCH'
  /** A file larger than we accept for its role (index.json, a manifest). */
  | 'TOO_LARGE'
  /** A symlink that leads outside the layout directory. */
  | 'OUTSIDE_LAYOUT'
  /** Something other than a regular file where a file is expected (a FIFO, a device, a directory). */
  | 'NOT_A_FILE'
  /** A stored manifest that does not parse as one. */
  | 'INVALID_MANIFEST'
  /** A manifest asked for by tag or digest that the layout does not have. */
  | 'MANIFEST_UNKNOWN'
  /** A manifest put before the blobs or child manifests it references. */
  | 'MANIFEST_BLOB_UNKNOWN'
  /** A reference that is neither a valid tag nor a valid digest. */
  | 'INVALID_REFERENCE'
  /** `index.json.lock` stayed held by a live writer for longer than we wait. */
  | 'LOCK_TIMEOUT'

export type LayoutErrorCategory = Extract<ErrorCategory, 'input' | 'not-found' | 'content'>

const CATEGORY: Readonly<Record<LayoutErrorCode, LayoutErrorCategory>> = {
  NOT_A_LAYOUT: 'input',
  UNSUPPORTED_LAYOUT_VERSION: 'input',
  INVALID_REFERENCE: 'input',
  MANIFEST_BLOB_UNKNOWN: 'input',
  LOCK_TIMEOUT: 'input',
  MANIFEST_UNKNOWN: 'not-found',
  BLOB_UNKNOWN: 'not-found',
  INVALID_INDEX: 'content',
  AMBIGUOUS_TAG: 'content',
  BLOB_MISSING: 'content',
  DIGEST_MISMATCH: 'content',
  SIZE_MISMATCH: 'content',
  TOO_LARGE: 'content',
  OUTSIDE_LAYOUT: 'content',
  NOT_A_FILE: 'content',
  INVALID_MANIFEST: 'content',
}

export class LayoutError extends SyncerError {
  override readonly name = 'LayoutError'
  readonly category: LayoutErrorCategory

  constructor(
    readonly code: LayoutErrorCode,
    /** The file or directory the message names, for views that lay it out separately. */
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.category = CATEGORY[code]
  }
}
