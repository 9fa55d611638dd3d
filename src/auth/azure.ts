/**
 * ACR credentials from AKS workload identity: the projected service-account token (AZURE_FEDERATED_TOKEN_FILE) is
 * a client assertion for the app AZURE_CLIENT_ID in AZURE_TENANT_ID, exchanged at Entra ID (AZURE_AUTHORITY_HOST,
 * default login.microsoftonline.com) for an access token to ACR; the registry's own `/oauth2/exchange` turns that
 * into an ACR refresh token, spent at the registry's token endpoint like a `docker login` identity token
 * (docs: https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md). Hand-written: @azure/identity and
 * @azure/msal-node are megabytes for two form POSTs.
 */
import {callEndpoint, type CloudContext, endpointUrl, field, form, jwtExpiry, learn, readTokenFile} from './cloud-fetch.ts'
import type {Credential} from './credential.ts'
import type {Expiring} from './lifetime-cache.ts'

export function isAzureRegistry(registry: string): boolean {
  return /^[a-z0-9]+(-[a-z0-9]+)*\.azurecr\.(io|cn|us)$/.test(registry)
}

/** Whether AKS workload identity (or another federated-token setup) is configured. */
export function hasAzureIdentity(env: CloudContext['env']): boolean {
  return Boolean(env.AZURE_FEDERATED_TOKEN_FILE && env.AZURE_CLIENT_ID && env.AZURE_TENANT_ID)
}

/** The Entra ID resource of ACR's data plane. */
const ACR_SCOPE = 'https://containerregistry.azure.net/.default'
const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com/'
/** ACR refresh tokens live three hours (the AAD-OAuth doc); used when the token's own `exp` cannot be read. */
const REFRESH_TOKEN_LIFETIME_MS = 3 * 3600_000

/** An Entra ID access token for ACR, for the configured app; shared by every registry of the run. */
export async function entraToken(ctx: CloudContext, registry: string): Promise<Expiring<string>> {
  const {env} = ctx
  const authority = (env.AZURE_AUTHORITY_HOST || DEFAULT_AUTHORITY).replace(/\/*$/, '/')
  const url = endpointUrl(registry, `${authority}${encodeURIComponent(env.AZURE_TENANT_ID!)}/oauth2/v2.0/token`, 'AZURE_AUTHORITY_HOST')
  const assertion = await readTokenFile(ctx, registry, env.AZURE_FEDERATED_TOKEN_FILE!, 'the federated token file (AZURE_FEDERATED_TOKEN_FILE)')
  const what = 'Entra ID'
  const answer = await callEndpoint(
    ctx,
    registry,
    what,
    url,
    form({
      grant_type: 'client_credentials',
      client_id: env.AZURE_CLIENT_ID!,
      scope: ACR_SCOPE,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  )
  const token = field(registry, what, answer.json, 'access_token')
  learn(ctx, token)
  const ttl = answer.json?.expires_in
  return {value: token, expiresAt: typeof ttl === 'number' ? ctx.now() + ttl * 1000 : jwtExpiry(token)}
}

/** The registry's refresh token for `registry`, from its `/oauth2/exchange` (on the registry itself). */
export async function acrRefreshToken(ctx: CloudContext, registry: string, accessToken: string): Promise<Expiring<Credential>> {
  const url = new URL(`https://${registry}/oauth2/exchange`)
  const what = 'the ACR token exchange'
  const answer = await callEndpoint(
    ctx,
    registry,
    what,
    url,
    form({grant_type: 'access_token', service: registry, tenant: ctx.env.AZURE_TENANT_ID!, access_token: accessToken}),
  )
  const token = field(registry, what, answer.json, 'refresh_token')
  learn(ctx, token)
  return {value: {kind: 'identity-token', token}, expiresAt: jwtExpiry(token) ?? ctx.now() + REFRESH_TOKEN_LIFETIME_MS}
}
