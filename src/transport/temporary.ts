/**
 * The one verdict on whether a failure may be gone on the next try, made from tables (as ggcr's error.go does):
 * what a registry answered (status, OCI error codes), how an exchange broke, and bytes spoiled on the way. The
 * transport retries requests with it, the registry layer resumes reads and re-sends chunks with it, the copy
 * engine starts whole transfers over with it. Everything not in a table is final.
 */
import {ContentError, type ContentErrorCode, NetworkError, type NetworkErrorKind, RegistryError} from './errors.ts'

/** Rate limits, timeouts, gateway and server errors. 501 (not implemented) and every 4xx besides these are final. */
export const TEMPORARY_STATUS: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524])

/** A dropped connection or silence past the timeout may be gone on a new connection; an abort or TLS that cannot be trusted is final. */
export const TEMPORARY_TRANSFER_KINDS: ReadonlySet<NetworkErrorKind> = new Set(['connection', 'timeout'])

/**
 * Registry codes that name a transfer gone wrong rather than a request that is: the upload session vanished
 * (a registry restart, an expired session), or the bytes that arrived do not hash to the digest (spoiled on the
 * way). A fresh transfer may succeed, whatever the status said.
 */
export const TEMPORARY_OCI_CODES: ReadonlySet<string> = new Set(['BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID'])

/** Bytes that did not hash to their digest may arrive intact next time; a wrong declared size, or too many bytes, stays wrong. */
export const TEMPORARY_CONTENT_CODES: ReadonlySet<ContentErrorCode> = new Set(['DIGEST_MISMATCH'])

export function isTemporary(err: unknown): boolean {
  if (err instanceof NetworkError) return TEMPORARY_TRANSFER_KINDS.has(err.kind)
  if (err instanceof RegistryError) return TEMPORARY_STATUS.has(err.status) || err.diagnostics.some((d) => TEMPORARY_OCI_CODES.has(d.code))
  if (err instanceof ContentError) return TEMPORARY_CONTENT_CODES.has(err.code)
  return false
}
