/**
 * OCI distribution error responses (`{"errors":[{code, message, detail}]}`), the shape our client parses into
 * `RegistryError` diagnostics. Codes are the spec's, so tests exercise the same classification as production.
 */

export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'TAG_INVALID'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNAVAILABLE'
  | 'UNKNOWN'
  /** Not a distribution-spec code: Harbor's for a missing manifest (personalities/harbor.ts). */
  | 'NOT_FOUND'
  /** Not a distribution-spec code: what we answer a failed If-Match with (412). */
  | 'PRECONDITION_FAILED'

export interface ErrorEntry {
  code: ErrorCode
  message: string
  detail?: unknown
}

/** One or more errors in one response; distribution sends one entry per missing blob, for instance. */
export function ociErrors(status: number, errors: ErrorEntry[], headers?: Record<string, string>): Response {
  return Response.json({errors}, {status, headers})
}

export function ociError(status: number, code: ErrorCode, message: string, detail?: unknown, headers?: Record<string, string>): Response {
  return ociErrors(status, [{code, message, ...(detail === undefined ? {} : {detail})}], headers)
}
