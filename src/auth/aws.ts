/**
 * ECR credentials from the AWS identity the pod or runner has, as the AWS SDKs' default chain finds it: environment
 * keys (also what aws-actions/configure-aws-credentials exports), EKS IRSA (a projected web-identity token →
 * STS AssumeRoleWithWebIdentity), EKS Pod Identity / ECS (the container credentials endpoint). The keys are then
 * spent on ECR GetAuthorizationToken, whose answer is Basic `AWS:<password>` for the registry, valid 12 hours.
 * Endpoints honour AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL, as the SDKs do.
 */
import {callEndpoint, type CloudContext, endpointUrl, field, form, identityError, learn, readTokenFile} from './cloud-fetch.ts'
import type {Credential} from './credential.ts'
import type {Expiring} from './lifetime-cache.ts'
import {type AwsCredentials, signRequest} from './sigv4.ts'

/** Where an ECR registry is: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`. */
export interface EcrRegistry {
  account: string
  region: string
  /** `amazonaws.com` or `amazonaws.com.cn`: the partition's domain, for the regional API endpoints. */
  domain: string
}

const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.(amazonaws\.com(?:\.cn)?)$/

export function ecrRegistry(registry: string): EcrRegistry | null {
  const m = ECR_HOST.exec(registry)
  return m ? {account: m[1]!, region: m[2]!, domain: m[3]!} : null
}

/** The container credentials endpoints the SDKs accept over plain HTTP besides loopback (ECS, EKS Pod Identity). */
const CONTAINER_HOSTS = new Set(['169.254.170.2', '169.254.170.23', '[fd00:ec2::23]'])

type Source = 'environment' | 'web-identity' | 'container'

/** Which AWS identity the environment offers, in the SDK chain's order, or null for none. */
function sourceOf(env: CloudContext['env']): Source | null {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return 'environment'
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) return 'web-identity'
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return 'container'
  return null
}

/** Whether an AWS identity is configured at all: without one, ECR is read anonymously (and refuses it). */
export function hasAwsIdentity(env: CloudContext['env']): boolean {
  return sourceOf(env) !== null
}

/** The AWS keys this environment gives, with their expiry. */
export async function awsCredentials(ctx: CloudContext, registry: string, ecr: EcrRegistry): Promise<Expiring<AwsCredentials>> {
  const {env} = ctx
  switch (sourceOf(env)) {
    case 'environment': {
      const keys = {accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY!}
      learn(ctx, keys.secretAccessKey, ...(env.AWS_SESSION_TOKEN ? [env.AWS_SESSION_TOKEN] : []))
      return {value: env.AWS_SESSION_TOKEN ? {...keys, sessionToken: env.AWS_SESSION_TOKEN} : keys, expiresAt: null}
    }
    case 'web-identity':
      return assumeRoleWithWebIdentity(ctx, registry, ecr)
    case 'container':
      return containerCredentials(ctx, registry)
    case null:
      throw identityError(registry, `${registry}: no AWS identity is configured`)
  }
}

function serviceEndpoint(ctx: CloudContext, registry: string, variable: string, fallback: string): URL {
  const override = ctx.env[variable] || ctx.env.AWS_ENDPOINT_URL
  return endpointUrl(registry, override || fallback, override ? (ctx.env[variable] ? variable : 'AWS_ENDPOINT_URL') : 'the AWS endpoint')
}

/** STS AssumeRoleWithWebIdentity is not signed: the projected token is the proof. Its answer is XML. */
async function assumeRoleWithWebIdentity(ctx: CloudContext, registry: string, ecr: EcrRegistry): Promise<Expiring<AwsCredentials>> {
  const {env} = ctx
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || ecr.region
  const url = serviceEndpoint(ctx, registry, 'AWS_ENDPOINT_URL_STS', `https://sts.${region}.${ecr.domain}`)
  const token = await readTokenFile(ctx, registry, env.AWS_WEB_IDENTITY_TOKEN_FILE!, 'the web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE)')
  const answer = await callEndpoint(
    ctx,
    registry,
    'AWS STS',
    url,
    form({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: env.AWS_ROLE_ARN!,
      RoleSessionName: env.AWS_ROLE_SESSION_NAME || `image-syncer-${ctx.now()}`,
      WebIdentityToken: token,
    }),
  )
  const tag = (name: string) => {
    const value = new RegExp(`<${name}>([^<]*)</${name}>`).exec(answer.text)?.[1]
    if (!value) throw identityError(registry, `${registry}: AWS STS answered without <${name}>`)
    return value.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"})[e]!)
  }
  const keys = {accessKeyId: tag('AccessKeyId'), secretAccessKey: tag('SecretAccessKey'), sessionToken: tag('SessionToken')}
  learn(ctx, keys.secretAccessKey, keys.sessionToken)
  return {value: keys, expiresAt: expiry(tag('Expiration'))}
}

/** EKS Pod Identity (FULL_URI + a token file the agent checks) and ECS task roles (RELATIVE_URI). */
async function containerCredentials(ctx: CloudContext, registry: string): Promise<Expiring<AwsCredentials>> {
  const {env} = ctx
  const raw = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
    ? `http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}`
    : env.AWS_CONTAINER_CREDENTIALS_FULL_URI!
  const parsed = URL.canParse(raw) ? new URL(raw) : null
  const url = parsed?.protocol === 'http:' && CONTAINER_HOSTS.has(parsed.hostname) ? parsed : endpointUrl(registry, raw, 'AWS_CONTAINER_CREDENTIALS_FULL_URI')
  const headers: Record<string, string> = {}
  if (env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) {
    headers.authorization = await readTokenFile(ctx, registry, env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'the container authorization token file')
  } else if (env.AWS_CONTAINER_AUTHORIZATION_TOKEN) {
    headers.authorization = env.AWS_CONTAINER_AUTHORIZATION_TOKEN
    learn(ctx, headers.authorization)
  }
  const answer = await callEndpoint(ctx, registry, 'the AWS container credentials endpoint', url, {method: 'GET', headers})
  const what = 'the AWS container credentials endpoint'
  const keys = {
    accessKeyId: field(registry, what, answer.json, 'AccessKeyId'),
    secretAccessKey: field(registry, what, answer.json, 'SecretAccessKey'),
    sessionToken: field(registry, what, answer.json, 'Token'),
  }
  learn(ctx, keys.secretAccessKey, keys.sessionToken)
  return {value: keys, expiresAt: expiry(typeof answer.json?.Expiration === 'string' ? answer.json.Expiration : '')}
}

function expiry(text: string): number | null {
  const at = Date.parse(text)
  return Number.isNaN(at) ? null : at
}

/** ECR GetAuthorizationToken (JSON 1.1 protocol, SigV4 for service `ecr`) → Basic credentials for the registry. */
export async function ecrCredential(ctx: CloudContext, registry: string, ecr: EcrRegistry, keys: AwsCredentials): Promise<Expiring<Credential>> {
  const url = serviceEndpoint(ctx, registry, 'AWS_ENDPOINT_URL_ECR', `https://api.ecr.${ecr.region}.${ecr.domain}/`)
  const body = JSON.stringify({registryIds: [ecr.account]})
  const headers = signRequest(
    {
      method: 'POST',
      url,
      headers: {'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken'},
      body,
      region: ecr.region,
      service: 'ecr',
      now: ctx.now(),
    },
    keys,
  )
  // fetch sets Host itself, from the URL that was signed.
  delete headers.host
  const what = 'ECR GetAuthorizationToken'
  const answer = await callEndpoint(ctx, registry, what, url, {method: 'POST', headers, body})
  const data = Array.isArray(answer.json?.authorizationData) ? (answer.json.authorizationData[0] as Record<string, unknown> | undefined) : undefined
  const token = field(registry, what, data ?? null, 'authorizationToken')
  const decoded = Buffer.from(token, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) throw identityError(registry, `${registry}: ${what} answered with a token that is not user:password`)
  const password = decoded.slice(colon + 1)
  learn(ctx, token, password)
  const expiresAt = typeof data?.expiresAt === 'number' ? data.expiresAt * 1000 : null
  return {value: {kind: 'basic', username: decoded.slice(0, colon), password}, expiresAt}
}
