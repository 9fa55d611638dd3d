/**
 * Google's token endpoints on loopback: the GCE/GKE metadata server (reached through GCE_METADATA_HOST), the OAuth2
 * token endpoint (a service-account key's JWT, checked against the key's public half), Google STS (workload identity
 * federation), IAM Credentials generateAccessToken (impersonation), and GitHub's OIDC token URL that
 * google-github-actions/auth puts in its credentials file. Each answers only the exact proof it expects.
 */
import {createVerify, generateKeyPairSync} from 'node:crypto'

export interface GoogleEmulator {
  readonly url: string
  /** For GCE_METADATA_HOST. */
  readonly host: string
  /** What the metadata server, the key's JWT grant and impersonation hand out: the token the registry accepts. */
  readonly accessToken: string
  /** What STS hands out for the subject token. */
  readonly stsToken: string
  /** The OIDC token GitHub would issue; STS takes only it. */
  readonly subjectToken: string
  /** The bearer token GitHub gives a job for its OIDC URL. */
  readonly requestToken: string
  readonly audience: string
  readonly serviceAccount: string
  /** One entry per request: `METHOD path grant_type?`. */
  readonly calls: string[]
  serviceAccountKey(): Record<string, string>
  /** What `gcloud auth application-default login` writes. */
  authorizedUser(): Record<string, string>
  /** The ADC file google-github-actions/auth writes for workload identity federation (credential_source.url). */
  externalAccount(options: {impersonate: boolean}): Record<string, unknown>
  stop(): Promise<void>
}

export function startGoogleEmulator(): GoogleEmulator {
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const accessToken = `ya29.final-${crypto.randomUUID()}`
  const stsToken = `ya29.sts-${crypto.randomUUID()}`
  const subjectToken = `eyJ.github-oidc-${crypto.randomUUID()}`
  const requestToken = `gh-request-${crypto.randomUUID()}`
  const userRefreshToken = `1//refresh-${crypto.randomUUID()}`
  const audience = '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/github'
  const serviceAccount = 'syncer@proj.iam.gserviceaccount.com'
  const calls: string[] = []
  const json = (body: unknown, status = 200) => Response.json(body, {status})
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const body = request.method === 'POST' ? await request.text() : ''
      const form = new URLSearchParams(body)
      calls.push(`${request.method} ${url.pathname}${form.get('grant_type') ? ` ${form.get('grant_type')}` : ''}`)
      if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
        if (request.headers.get('metadata-flavor') !== 'Google') return new Response('missing Metadata-Flavor', {status: 403})
        return json({access_token: accessToken, expires_in: 3599, token_type: 'Bearer'})
      }
      if (url.pathname === '/token' && form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        const [head, claims, signature] = (form.get('assertion') ?? '').split('.')
        const verified = createVerify('RSA-SHA256')
          .update(`${head}.${claims}`)
          .verify(publicKey, signature ?? '', 'base64url')
        const c = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString() || '{}') as Record<string, unknown>
        if (!verified || c.iss !== serviceAccount || c.aud !== `${server.url.origin}/token`) return json({error: 'invalid_grant'}, 400)
        return json({access_token: accessToken, expires_in: 3599, token_type: 'Bearer'})
      }
      if (url.pathname === '/token' && form.get('grant_type') === 'refresh_token') {
        const ok = form.get('refresh_token') === userRefreshToken && form.get('client_id') === 'gcloud-client' && form.get('client_secret') === 'gcloud-secret'
        return ok ? json({access_token: accessToken, expires_in: 3599, token_type: 'Bearer'}) : json({error: 'invalid_grant'}, 400)
      }
      if (url.pathname === '/v1/token') {
        const ok =
          form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:token-exchange' &&
          form.get('subject_token') === subjectToken &&
          form.get('audience') === audience &&
          form.get('subject_token_type') === 'urn:ietf:params:oauth:token-type:jwt'
        return ok ? json({access_token: stsToken, expires_in: 3600, token_type: 'Bearer'}) : json({error: 'invalid_grant'}, 400)
      }
      if (url.pathname === `/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`) {
        if (request.headers.get('authorization') !== `Bearer ${stsToken}`) return json({error: {code: 401}}, 401)
        return json({accessToken, expireTime: new Date(Date.now() + 3600_000).toISOString()})
      }
      if (url.pathname === '/oidc') {
        if (request.headers.get('authorization') !== `bearer ${requestToken}` || url.searchParams.get('audience') !== `https:${audience}`)
          return new Response('no', {status: 401})
        return json({value: subjectToken})
      }
      return new Response('not found', {status: 404})
    },
  })
  const origin = server.url.origin
  return {
    url: origin,
    host: server.url.host,
    accessToken,
    stsToken,
    subjectToken,
    requestToken,
    audience,
    serviceAccount,
    calls,
    serviceAccountKey: () => ({
      type: 'service_account',
      project_id: 'proj',
      private_key_id: 'key-1',
      private_key: privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
      client_email: serviceAccount,
      token_uri: `${origin}/token`,
    }),
    authorizedUser: () => ({
      type: 'authorized_user',
      client_id: 'gcloud-client',
      client_secret: 'gcloud-secret',
      refresh_token: userRefreshToken,
      token_uri: `${origin}/token`,
    }),
    externalAccount: ({impersonate}) => ({
      type: 'external_account',
      audience,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${origin}/v1/token`,
      ...(impersonate ? {service_account_impersonation_url: `${origin}/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`} : {}),
      credential_source: {
        url: `${origin}/oidc?api-version=2.0&audience=${encodeURIComponent(`https:${audience}`)}`,
        headers: {Authorization: `bearer ${requestToken}`},
        format: {type: 'json', subject_token_field_name: 'value'},
      },
    }),
    stop: () => server.stop(true),
  }
}
