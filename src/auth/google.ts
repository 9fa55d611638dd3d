/**
 * A Google OAuth2 access token from Application Default Credentials, found as google-auth-library finds them:
 * the file GOOGLE_APPLICATION_CREDENTIALS names, else gcloud's well-known file, else the GCE/GKE metadata server
 * (GKE Workload Identity answers there for the pod's Kubernetes service account). Artifact Registry and GCR
 * accept it as the password of `oauth2accesstoken`. The ADC files are google-adc.ts.
 */
import {join} from 'node:path'
import {FileReadError, readUserFile} from '../files/read.ts'
import {callEndpoint, type CloudContext, field, identityError, learn} from './cloud-fetch.ts'
import {adcAccessToken} from './google-adc.ts'
import type {Expiring} from './lifetime-cache.ts'

export const GOOGLE_USERNAME = 'oauth2accesstoken'

/** `gcr.io`, `eu.gcr.io` …, and Artifact Registry's `<location>-docker.pkg.dev`. */
export function isGoogleRegistry(registry: string): boolean {
  return registry === 'gcr.io' || registry.endsWith('.gcr.io') || registry.endsWith('.pkg.dev')
}

/** Where the ADC file of `gcloud auth application-default login` lives (gcloud's config directory). */
function wellKnownFile(ctx: CloudContext): string {
  return join(ctx.env.CLOUDSDK_CONFIG || join(ctx.homeDir, '.config', 'gcloud'), 'application_default_credentials.json')
}

/** Reads an ADC file; null when an optional one is absent. */
async function readAdc(ctx: CloudContext, registry: string, path: string, required: boolean): Promise<string | null> {
  try {
    const text = (await readUserFile(path, {what: 'the Google credentials file', maxBytes: 64 * 1024})).toString('utf8')
    learn(ctx, text)
    return text
  } catch (error) {
    if (!(error instanceof FileReadError)) throw error
    if (!required && error.code === 'NOT_FOUND') return null
    throw identityError(registry, error.message, required ? 'GOOGLE_APPLICATION_CREDENTIALS must name a readable credentials file' : undefined)
  }
}

/**
 * The metadata server is asked only where there is one: GCE_METADATA_HOST names it, or the machine says it is a
 * Google Compute Engine VM (GKE nodes are), as gcp-metadata detects it. Elsewhere a connection to 169.254.169.254
 * would only time out, on every run that reads a public image from gcr.io.
 */
export interface MetadataProbe {
  /** The DMI file naming the machine's product; `Google Compute Engine` on GCE. */
  dmiProductFile: string
}

export const DEFAULT_METADATA_PROBE: MetadataProbe = {dmiProductFile: '/sys/class/dmi/id/product_name'}

async function onGce(ctx: CloudContext, probe: MetadataProbe): Promise<boolean> {
  if (ctx.env.GCE_METADATA_HOST || ctx.env.GCE_METADATA_IP) return true
  try {
    return (await readUserFile(probe.dmiProductFile, {what: 'DMI product name', maxBytes: 4096})).toString('utf8').includes('Google')
  } catch {
    return false
  }
}

async function metadataToken(ctx: CloudContext, registry: string): Promise<Expiring<string>> {
  const host = ctx.env.GCE_METADATA_HOST || ctx.env.GCE_METADATA_IP || '169.254.169.254'
  // Always plain HTTP, by design of the metadata server; the header is what keeps a browser-driven request out.
  const url = new URL(`http://${host}/computeMetadata/v1/instance/service-accounts/default/token`)
  const what = 'the GCE metadata server'
  const answer = await callEndpoint(ctx, registry, what, url, {method: 'GET', headers: {'metadata-flavor': 'Google'}})
  const token = field(registry, what, answer.json, 'access_token')
  learn(ctx, token)
  const ttl = answer.json?.expires_in
  return {value: token, expiresAt: typeof ttl === 'number' ? ctx.now() + ttl * 1000 : null}
}

/** The access token of this environment's Google identity, or null when it has none. */
export async function googleAccessToken(ctx: CloudContext, registry: string, probe: MetadataProbe): Promise<Expiring<string> | null> {
  const named = ctx.env.GOOGLE_APPLICATION_CREDENTIALS
  const path = named || wellKnownFile(ctx)
  const text = await readAdc(ctx, registry, path, Boolean(named))
  if (text !== null) return adcAccessToken(ctx, registry, path, text)
  if (await onGce(ctx, probe)) return metadataToken(ctx, registry)
  return null
}
