/**
 * Entra ID's token endpoint on loopback (reached through AZURE_AUTHORITY_HOST), which takes only the federated token
 * AKS projects for the pod as the client assertion of the configured app, and ACR's `/oauth2/exchange`, which lives
 * on the registry itself and is served by the cloud proxy's route for the registry name (cloud-proxy.ts).
 */
import type {CloudRoute} from './cloud-proxy.ts'

export interface AzureEmulator {
  readonly url: string
  readonly tenantId: string
  readonly clientId: string
  readonly federatedToken: string
  /** The ACR refresh token the registry's exchange hands out: the only credential the registry takes. */
  readonly refreshToken: string
  /** `entra`, `exchange <service>` per request. */
  readonly calls: string[]
  /** The route of `registry` in the cloud proxy: the exchange here, the rest to `upstream`. */
  route(registry: string, upstream: string): CloudRoute
  stop(): Promise<void>
}

export function startAzureEmulator(): AzureEmulator {
  const tenantId = '72f988bf-0000-0000-0000-2d7cd011db47'
  const clientId = 'c0ffee00-0000-0000-0000-000000000001'
  const federatedToken = `eyJ.aks-${crypto.randomUUID()}`
  const accessToken = `eyJ.entra-${crypto.randomUUID()}`
  const exp = Math.floor(Date.now() / 1000) + 3 * 3600
  const refreshToken = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({exp})).toString('base64url')}.${crypto.randomUUID()}`
  const calls: string[] = []
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      if (request.method !== 'POST' || url.pathname !== `/${tenantId}/oauth2/v2.0/token`) return new Response('not found', {status: 404})
      calls.push('entra')
      const form = new URLSearchParams(await request.text())
      const ok =
        form.get('grant_type') === 'client_credentials' &&
        form.get('client_id') === clientId &&
        form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' &&
        form.get('client_assertion') === federatedToken &&
        form.get('scope') === 'https://containerregistry.azure.net/.default'
      if (!ok) return Response.json({error: 'invalid_client'}, {status: 401})
      return Response.json({token_type: 'Bearer', expires_in: 3599, access_token: accessToken})
    },
  })
  return {
    url: server.url.origin,
    tenantId,
    clientId,
    federatedToken,
    refreshToken,
    calls,
    route: (registry, upstream) => ({
      upstream,
      async handle(request, url) {
        if (url.pathname !== '/oauth2/exchange') return null
        const form = new URLSearchParams(await request.text())
        calls.push(`exchange ${form.get('service')}`)
        const ok =
          form.get('grant_type') === 'access_token' &&
          form.get('access_token') === accessToken &&
          form.get('service') === registry &&
          form.get('tenant') === tenantId
        return ok ? Response.json({refresh_token: refreshToken}) : Response.json({errors: [{code: 'UNAUTHORIZED'}]}, {status: 401})
      },
    }),
    stop: () => server.stop(true),
  }
}
