/**
 * AWS's endpoints on loopback, reached through AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL_ECR and the container
 * credentials URI: STS AssumeRoleWithWebIdentity (XML, unsigned: the projected token is the proof), the EKS Pod
 * Identity agent, and ECR GetAuthorizationToken, which checks the request's SigV4 signature against the secret of
 * the key it names (environment keys, or the session keys STS or the agent issued) and its session token.
 */
import {signRequest} from '../../../src/auth/sigv4.ts'

export interface AwsEmulator {
  readonly url: string
  /** The ECR password the registry accepts (user `AWS`). */
  readonly ecrPassword: string
  readonly webIdentityToken: string
  readonly roleArn: string
  /** The token the Pod Identity agent wants in Authorization. */
  readonly podIdentityToken: string
  /** Long-lived keys, as the environment or aws-actions/configure-aws-credentials gives them. */
  readonly environmentKeys: {accessKeyId: string; secretAccessKey: string}
  /** `sts`, `pod-identity`, `ecr <access key id> <region>` per request. */
  readonly calls: string[]
  stop(): Promise<void>
}

export function startAwsEmulator(): AwsEmulator {
  const ecrPassword = `ecr-${crypto.randomUUID()}`
  const webIdentityToken = `eyJ.irsa-${crypto.randomUUID()}`
  const podIdentityToken = `pod-${crypto.randomUUID()}`
  const roleArn = 'arn:aws:iam::123456789012:role/image-syncer'
  const environmentKeys = {accessKeyId: 'AKIAENVIRONMENT', secretAccessKey: `env-secret-${crypto.randomUUID()}`}
  // access key id → secret and session token
  const keys = new Map<string, {secret: string; session?: string}>([[environmentKeys.accessKeyId, {secret: environmentKeys.secretAccessKey}]])
  const issue = (prefix: string) => {
    const id = `ASIA${prefix}${keys.size}`
    const entry = {secret: `secret-${crypto.randomUUID()}`, session: `session-${crypto.randomUUID()}`}
    keys.set(id, entry)
    return {id, ...entry, expiration: new Date(Date.now() + 3600_000).toISOString()}
  }
  const calls: string[] = []
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const body = await request.text()
      if (request.method === 'GET' && url.pathname === '/v1/credentials') {
        calls.push('pod-identity')
        if (request.headers.get('authorization') !== podIdentityToken) return new Response('denied', {status: 401})
        const k = issue('POD')
        return Response.json({AccessKeyId: k.id, SecretAccessKey: k.secret, Token: k.session, Expiration: k.expiration})
      }
      const target = request.headers.get('x-amz-target')
      if (target === 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken') return ecr(request, url, body)
      const form = new URLSearchParams(body)
      if (form.get('Action') === 'AssumeRoleWithWebIdentity') {
        calls.push('sts')
        if (form.get('WebIdentityToken') !== webIdentityToken || form.get('RoleArn') !== roleArn) {
          return new Response('<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>', {status: 403})
        }
        const k = issue('STS')
        const xml = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${k.id}</AccessKeyId><SecretAccessKey>${k.secret}</SecretAccessKey><SessionToken>${k.session}</SessionToken><Expiration>${k.expiration}</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`
        return new Response(xml, {headers: {'content-type': 'text/xml'}})
      }
      return new Response('not found', {status: 404})
    },
  })

  function ecr(request: Request, url: URL, body: string): Response {
    const scope = /Credential=([^/]+)\/(\d{8})\/([^/]+)\/ecr\/aws4_request/.exec(request.headers.get('authorization') ?? '')
    const key = scope ? keys.get(scope[1]!) : undefined
    calls.push(`ecr ${scope?.[1] ?? '-'} ${scope?.[3] ?? '-'}`)
    const amzDate = request.headers.get('x-amz-date') ?? ''
    const now = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'))
    if (!scope || !key || Number.isNaN(now)) return Response.json({__type: 'UnrecognizedClientException'}, {status: 403})
    const expected = signRequest(
      {
        method: request.method,
        url: new URL(url.pathname + url.search, `http://${request.headers.get('host')}`),
        headers: {'content-type': request.headers.get('content-type') ?? '', 'x-amz-target': request.headers.get('x-amz-target') ?? ''},
        body,
        region: scope[3]!,
        service: 'ecr',
        now,
      },
      {accessKeyId: scope[1]!, secretAccessKey: key.secret, ...(key.session ? {sessionToken: key.session} : {})},
    )
    const sessionOk = (request.headers.get('x-amz-security-token') ?? undefined) === key.session
    if (expected.authorization !== request.headers.get('authorization') || !sessionOk) {
      return Response.json({__type: 'InvalidSignatureException'}, {status: 403})
    }
    return Response.json({
      authorizationData: [
        {authorizationToken: Buffer.from(`AWS:${ecrPassword}`).toString('base64'), expiresAt: Date.now() / 1000 + 43200, proxyEndpoint: 'https://ecr'},
      ],
    })
  }

  return {
    url: server.url.origin,
    ecrPassword,
    webIdentityToken,
    roleArn,
    podIdentityToken,
    environmentKeys,
    calls,
    stop: () => server.stop(true),
  }
}
