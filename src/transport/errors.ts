/**
 * The transport layer's errors. A `RegistryError` is what a registry said (status + OCI error codes); a
 * `NetworkError` is when it said nothing usable (refused, reset, timed out); a `ContentError` is when what came
 * (or was about to go) is not what it claims to be. Callers branch on `status`, `diagnostics[].code`, `kind` or
 * `code`, never on message text; whether one is worth another try is temporary.ts's one verdict.
 */
import {SyncerError} from '../ref/errors.ts'
import {printable} from '../ref/text.ts'
import {redactUrl} from './redact.ts'
import {tlsFailure} from './tls.ts'

/** One entry of the OCI distribution `errors` array. */
export interface Diagnostic {
  code: string
  message?: string
  detail?: unknown
}

/** Error bodies are read with a bound: a misbehaving server must not make us buffer megabytes. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024

export class RegistryError extends SyncerError {
  override readonly name = 'RegistryError'
  readonly method: string
  readonly url: string
  readonly status: number
  readonly diagnostics: Diagnostic[]
  /** The response's Retry-After, for callers that retry whole operations themselves. */
  readonly retryAfter: string | null

  constructor(init: {method: string; url: string; status: number; diagnostics?: Diagnostic[]; reason?: string; retryAfter?: string | null}) {
    const url = redactUrl(init.url)
    const diagnostics = init.diagnostics ?? []
    const said = diagnostics.length
      ? // Codes and messages are the registry's text: printable, so printing this error cannot drive a terminal.
        diagnostics.map((d) => printable(d.message ? `${d.code}: ${d.message}` : d.code)).join('; ')
      : (init.reason ?? `HTTP ${init.status}`)
    const headNote = init.method === 'HEAD' && !diagnostics.length ? ' (HEAD responses have no body)' : ''
    super(`${init.method} ${url}: ${said}${headNote}`)
    this.method = init.method
    this.url = url
    this.status = init.status
    this.diagnostics = diagnostics
    this.retryAfter = init.retryAfter ?? null
  }

  /** What the status means for callers: a refusal of credentials, an absence, or any other registry complaint. */
  get category(): 'auth' | 'not-found' | 'registry' {
    return this.status === 401 || this.status === 403 ? 'auth' : this.status === 404 ? 'not-found' : 'registry'
  }

  hasCode(code: string): boolean {
    return this.diagnostics.some((d) => d.code === code)
  }

  /** Reads the OCI error body (bounded) of a failed response. */
  static async fromResponse(method: string, url: string, response: Response): Promise<RegistryError> {
    return new RegistryError({
      method,
      url,
      status: response.status,
      diagnostics: await readDiagnostics(method, response),
      retryAfter: response.headers.get('retry-after'),
    })
  }
}

/**
 * `tls-certificate`: the server's certificate did not verify; `tls-handshake`: no TLS session came about (the
 * server speaks plain HTTP there, or refused us, e.g. for want of a client certificate). Neither is retried.
 */
export type NetworkErrorKind = 'timeout' | 'aborted' | 'connection' | 'tls-certificate' | 'tls-handshake'

export class NetworkError extends SyncerError {
  override readonly name = 'NetworkError'
  readonly category = 'network' as const
  readonly method: string
  readonly url: string
  readonly kind: NetworkErrorKind

  constructor(init: {method: string; url: string; kind: NetworkErrorKind; cause?: unknown}) {
    const url = redactUrl(init.url)
    super(`${init.method} ${url} ${networkFailureText(init.kind, hostOf(init.url), causeText(init.cause))}`, {cause: init.cause})
    this.method = init.method
    this.url = url
    this.kind = init.kind
  }
}

export type ContentErrorCode = 'DIGEST_MISMATCH' | 'SIZE_MISMATCH' | 'MANIFEST_TOO_LARGE' | 'BLOB_TOO_LARGE'

/** Content that is not what it claims to be: bytes that do not hash to their digest, a wrong or too large size. */
export class ContentError extends SyncerError {
  override readonly name = 'ContentError'
  readonly category = 'content' as const
  constructor(
    readonly code: ContentErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/** The token endpoint refused us or answered nonsense; kept apart so "wrong password" reads as such. */
export class AuthenticationError extends SyncerError {
  override readonly name = 'AuthenticationError'
  readonly category = 'auth' as const
  constructor(
    readonly registry: string,
    readonly status: number | null,
    message: string,
  ) {
    super(message)
  }
}

/** What kind of NetworkError a failed fetch is, from its error code. */
export function networkFailureKind(err: unknown): 'connection' | 'tls-certificate' | 'tls-handshake' {
  const code = err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined
  const tls = tlsFailure(code)
  return tls === 'certificate' ? 'tls-certificate' : tls === 'handshake' ? 'tls-handshake' : 'connection'
}

async function readDiagnostics(method: string, response: Response): Promise<Diagnostic[]> {
  if (method === 'HEAD' || !response.body) return []
  try {
    const text = await readBounded(response, MAX_ERROR_BODY_BYTES)
    const json = JSON.parse(text) as {errors?: unknown}
    if (!Array.isArray(json.errors)) return []
    return json.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as {code?: unknown}).code === 'string')
      .map((e) => ({
        code: String(e.code),
        ...(typeof e.message === 'string' ? {message: e.message} : {}),
        ...(e.detail !== undefined ? {detail: e.detail} : {}),
      }))
  } catch {
    return []
  }
}

async function readBounded(response: Response, limit: number): Promise<string> {
  const reader = response.body!.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  while (total < limit) {
    const {done, value} = await reader.read()
    if (done) break
    chunks.push(value)
    total += value.byteLength
  }
  await reader.cancel().catch(() => {})
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit))
}

function networkFailureText(kind: NetworkErrorKind, host: string, cause: string): string {
  switch (kind) {
    case 'timeout':
      return 'timed out'
    case 'aborted':
      return 'aborted'
    case 'connection':
      return `failed: ${cause}`
    case 'tls-certificate':
      return `failed: the TLS certificate of ${host} did not verify (${cause}); trust its CA with --ca-file or certs.d/${host}/ca.crt`
    case 'tls-handshake':
      return `failed: no TLS session with ${host} (${cause}): it does not speak TLS on that port, or wants a client certificate (certs.d/${host}/client.cert and client.key)`
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'the server'
  }
}

function causeText(cause: unknown): string {
  if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string') return cause.code
  if (cause instanceof Error) return cause.message
  return 'network error'
}
