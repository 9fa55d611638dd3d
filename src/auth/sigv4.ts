/**
 * AWS Signature Version 4 for the one signed call we make (ECR GetAuthorizationToken): a canonical request, the
 * string to sign, the HMAC chain. Hand-written over node:crypto rather than @smithy/signature-v4 and its half-dozen
 * @smithy/* packages: the algorithm is fixed and documented (docs.aws.amazon.com/IAM/latest/UserGuide/
 * create-signed-request.html), ~50 lines, and proven against AWS's published examples in sigv4.test.ts.
 */
import {createHash, createHmac} from 'node:crypto'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface SignInput {
  method: string
  url: URL
  /** Header names in any case; `host` and `x-amz-date` are added. */
  headers: Record<string, string>
  body: string
  region: string
  service: string
  /** Milliseconds since the epoch: the request's date. */
  now: number
}

const hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex')
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest()

/** RFC 3986 unreserved characters stay; everything else is %XX in upper case (AWS's rule, stricter than encodeURIComponent). */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request')
}

/** The headers to send: the given ones, `host`, `x-amz-date`, the session token when there is one, and `authorization`. */
export function signRequest(input: SignInput, credentials: AwsCredentials): Record<string, string> {
  const amzDate = new Date(input.now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
  const date = amzDate.slice(0, 8)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value.trim().replace(/\s+/g, ' ')
  headers.host = input.url.host
  headers['x-amz-date'] = amzDate
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken
  const names = Object.keys(headers).sort()
  const query = [...input.url.searchParams]
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const path =
    input.url.pathname
      .split('/')
      .map((segment) => encode(decodeURIComponent(segment)))
      .join('/') || '/'
  const canonical = [input.method, path, query, ...names.map((name) => `${name}:${headers[name]}`), '', names.join(';'), hex(input.body)].join('\n')
  const scope = `${date}/${input.region}/${input.service}/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonical)].join('\n')
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, date, input.region, input.service))
    .update(toSign, 'utf8')
    .digest('hex')
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`
  return headers
}
