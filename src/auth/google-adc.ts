/**
 * The Application Default Credentials files a Google access token is made from:
 * - `service_account`: a key; a JWT signed with its RS256 key is exchanged at its `token_uri` (RFC 7523);
 * - `external_account`: workload identity federation, as google-github-actions/auth writes it for a GitHub OIDC
 *   token: the subject token from `credential_source` (a file, or a URL with headers, text or JSON) is exchanged
 *   at `token_url` (Google STS, RFC 8693), then optionally for a service account's token at
 *   `service_account_impersonation_url` (IAM Credentials generateAccessToken).
 * - `authorized_user`: `gcloud auth application-default login`; its refresh token at `token_uri`.
 * Hand-written (node:crypto signs the JWT): google-auth-library brings gaxios, gtoken, jws and more for these
 * three POSTs.
 */
import {createSign} from 'node:crypto'
import {callEndpoint, type CloudContext, endpointUrl, field, form, identityError, learn, readTokenFile} from './cloud-fetch.ts'
import type {Expiring} from './lifetime-cache.ts'

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform'
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token'
const JWT_LIFETIME_S = 3600

type Adc = Record<string, unknown>

const str = (adc: Adc, name: string): string | undefined => (typeof adc[name] === 'string' && adc[name] !== '' ? (adc[name] as string) : undefined)

export async function adcAccessToken(ctx: CloudContext, registry: string, path: string, text: string): Promise<Expiring<string>> {
  let adc: Adc
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('not an object')
    adc = parsed as Adc
  } catch {
    throw identityError(registry, `the Google credentials file ${path} is not a JSON object`)
  }
  const need = (name: string) => str(adc, name) ?? missing(registry, path, name)
  switch (adc.type) {
    case 'service_account':
      return serviceAccountToken(ctx, registry, need('client_email'), need('private_key'), str(adc, 'private_key_id'), str(adc, 'token_uri'))
    case 'external_account':
      return externalAccountToken(ctx, registry, path, adc)
    case 'authorized_user':
      return oauthToken(
        ctx,
        registry,
        endpointUrl(registry, str(adc, 'token_uri') ?? DEFAULT_TOKEN_URI, `token_uri of ${path}`),
        form({grant_type: 'refresh_token', client_id: need('client_id'), client_secret: need('client_secret'), refresh_token: need('refresh_token')}),
      )
    default:
      throw identityError(
        registry,
        `the Google credentials file ${path} has type ${JSON.stringify(adc.type ?? null)}; image-syncer reads service_account, external_account and authorized_user`,
      )
  }
}

function missing(registry: string, path: string, name: string): never {
  throw identityError(registry, `the Google credentials file ${path} has no "${name}"`)
}

/** A token endpoint's `{access_token, expires_in}`. */
async function oauthToken(ctx: CloudContext, registry: string, url: URL, init: RequestInit, what = 'the Google token endpoint'): Promise<Expiring<string>> {
  const answer = await callEndpoint(ctx, registry, what, url, init)
  const token = field(registry, what, answer.json, 'access_token')
  learn(ctx, token)
  const ttl = answer.json?.expires_in
  return {value: token, expiresAt: typeof ttl === 'number' ? ctx.now() + ttl * 1000 : null}
}

async function serviceAccountToken(
  ctx: CloudContext,
  registry: string,
  email: string,
  privateKey: string,
  keyId: string | undefined,
  tokenUri: string | undefined,
): Promise<Expiring<string>> {
  const url = endpointUrl(registry, tokenUri ?? DEFAULT_TOKEN_URI, 'the key file token_uri')
  const iat = Math.floor(ctx.now() / 1000)
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${b64({alg: 'RS256', typ: 'JWT', ...(keyId ? {kid: keyId} : {})})}.${b64({iss: email, scope: SCOPE, aud: url.toString(), iat, exp: iat + JWT_LIFETIME_S})}`
  let signature: string
  try {
    signature = createSign('RSA-SHA256').update(unsigned).sign(privateKey, 'base64url')
  } catch {
    throw identityError(registry, `${registry}: the private_key of the service account key for ${email} is not a usable RSA key`)
  }
  const assertion = `${unsigned}.${signature}`
  learn(ctx, assertion)
  return oauthToken(ctx, registry, url, form({grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion}))
}

async function subjectToken(ctx: CloudContext, registry: string, path: string, source: Adc): Promise<string> {
  const format = (typeof source.format === 'object' && source.format !== null ? source.format : {}) as Adc
  let raw: string
  const file = str(source, 'file')
  const url = str(source, 'url')
  if (file) raw = await readTokenFile(ctx, registry, file, 'the subject token file (credential_source.file)')
  else if (url) {
    const headers = (typeof source.headers === 'object' && source.headers !== null ? source.headers : {}) as Record<string, string>
    for (const value of Object.values(headers)) learn(ctx, String(value).replace(/^bearer\s+/i, ''))
    raw = (
      await callEndpoint(ctx, registry, 'the subject token URL (credential_source.url)', endpointUrl(registry, url, 'credential_source.url'), {
        method: 'GET',
        headers,
      })
    ).text
  } else throw identityError(registry, `the Google credentials file ${path}: image-syncer reads credential_source "file" and "url" only`)
  if (format.type !== 'json') return raw.trim()
  const name = str(format, 'subject_token_field_name') ?? missing(registry, path, 'credential_source.format.subject_token_field_name')
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw identityError(registry, `${registry}: the subject token source of ${path} is not JSON`)
  }
  const token = (parsed as Adc | null)?.[name]
  if (typeof token !== 'string' || token === '') throw identityError(registry, `${registry}: the subject token source of ${path} has no "${name}"`)
  learn(ctx, token)
  return token
}

async function externalAccountToken(ctx: CloudContext, registry: string, path: string, adc: Adc): Promise<Expiring<string>> {
  const need = (name: string) => str(adc, name) ?? missing(registry, path, name)
  const source =
    typeof adc.credential_source === 'object' && adc.credential_source !== null ? (adc.credential_source as Adc) : missing(registry, path, 'credential_source')
  const token = await subjectToken(ctx, registry, path, source)
  const sts = await oauthToken(
    ctx,
    registry,
    endpointUrl(registry, need('token_url'), `token_url of ${path}`),
    form({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: need('audience'),
      scope: SCOPE,
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: token,
      subject_token_type: need('subject_token_type'),
    }),
    'Google STS',
  )
  const impersonation = str(adc, 'service_account_impersonation_url')
  if (!impersonation) return sts
  const what = 'IAM Credentials generateAccessToken'
  const answer = await callEndpoint(ctx, registry, what, endpointUrl(registry, impersonation, `service_account_impersonation_url of ${path}`), {
    method: 'POST',
    headers: {authorization: `Bearer ${sts.value}`, 'content-type': 'application/json'},
    body: JSON.stringify({scope: [SCOPE], lifetime: `${JWT_LIFETIME_S}s`}),
  })
  const accessToken = field(registry, what, answer.json, 'accessToken')
  learn(ctx, accessToken)
  const at = Date.parse(typeof answer.json?.expireTime === 'string' ? answer.json.expireTime : '')
  return {value: accessToken, expiresAt: Number.isNaN(at) ? null : at}
}
