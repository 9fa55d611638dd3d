/**
 * Credentials from the platform's workload identity, for the clouds' registries only, as ggcr's google and
 * k8schain keychains and `cosign --k8s-keychain` do it: the last source of the chain, asked when no explicit
 * credential and no docker/podman login matched. Which cloud is decided by the registry's name alone, so a token
 * goes to the registry it was made for and no other (a mirror of a cloud registry is another host and gets none).
 *
 * Where the environment has no identity for that cloud the registry is read anonymously, as before; where it has
 * one and the flow fails, the error stops the run (a configured source is broken and should be fixed).
 */
import {awsCredentials, ecrCredential, ecrRegistry, hasAwsIdentity} from './aws.ts'
import {acrRefreshToken, entraToken, hasAzureIdentity, isAzureRegistry} from './azure.ts'
import type {CloudContext} from './cloud-fetch.ts'
import {ANONYMOUS, type Credential, type Keychain} from './credential.ts'
import {DEFAULT_METADATA_PROBE, GOOGLE_USERNAME, googleAccessToken, isGoogleRegistry, type MetadataProbe} from './google.ts'
import {normaliseRegistryKey} from './keychain.ts'
import {LifetimeCache} from './lifetime-cache.ts'
import type {AwsCredentials} from './sigv4.ts'

export type Cloud = 'google' | 'aws' | 'azure'

/** The cloud whose registry `registry` (a normalised `host[:port]`) is, by name; null for any other registry. */
export function cloudOf(registry: string): Cloud | null {
  if (isGoogleRegistry(registry)) return 'google'
  if (ecrRegistry(registry) !== null) return 'aws'
  if (isAzureRegistry(registry)) return 'azure'
  return null
}

export interface WorkloadIdentityOptions extends CloudContext {
  metadataProbe?: MetadataProbe
}

export function workloadIdentityKeychain(options: WorkloadIdentityOptions): Keychain {
  const ctx: CloudContext = options
  const probe = options.metadataProbe ?? DEFAULT_METADATA_PROBE
  // A registry credential per registry; beneath it the platform tokens several registries share.
  const perRegistry = new LifetimeCache<Credential>(ctx.now)
  const google = new LifetimeCache<string | null>(ctx.now)
  const aws = new LifetimeCache<AwsCredentials>(ctx.now)
  const entra = new LifetimeCache<string>(ctx.now)

  const resolveFor = async (registry: string, cloud: Cloud): Promise<Credential> => {
    switch (cloud) {
      case 'google': {
        const token = await google.get('adc', async () => (await googleAccessToken(ctx, registry, probe)) ?? {value: null, expiresAt: null})
        return token === null ? ANONYMOUS : {kind: 'basic', username: GOOGLE_USERNAME, password: token}
      }
      case 'aws': {
        const ecr = ecrRegistry(registry)!
        if (!hasAwsIdentity(ctx.env)) return ANONYMOUS
        return perRegistry.get(registry, async () => {
          const keys = await aws.get(ecr.region, () => awsCredentials(ctx, registry, ecr))
          return ecrCredential(ctx, registry, ecr, keys)
        })
      }
      case 'azure': {
        if (!hasAzureIdentity(ctx.env)) return ANONYMOUS
        return perRegistry.get(registry, async () => acrRefreshToken(ctx, registry, await entra.get('entra', () => entraToken(ctx, registry))))
      }
    }
  }

  return {
    resolve(registry) {
      const name = normaliseRegistryKey(registry)
      const cloud = cloudOf(name)
      return cloud === null ? Promise.resolve(ANONYMOUS) : resolveFor(name, cloud)
    },
  }
}
