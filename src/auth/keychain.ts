/**
 * Keychain combinators and the registry-key normalisation every keychain shares.
 *
 * As in ggcr's `authn.NewMultiKeychain`, sources are small and composed by the command layer:
 * e.g. `targetOnlyKeychain(target, fromFlag, multiKeychain(dockerConfigKeychain(), …))`.
 */
import {DOCKER_HUB, isDockerHub, parseRegistry} from '../ref/host.ts'
import {ANONYMOUS, type Credential, type Keychain} from './credential.ts'

/** The registry name used for Docker Hub throughout image-syncer (owned by the ref layer). */
export {DOCKER_HUB}

/**
 * The server URL Docker itself uses for Hub in `auths` and when asking credential helpers;
 * helpers such as osxkeychain and desktop store Hub credentials under exactly this string.
 */
export const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/'

/**
 * Reduces a registry name or docker-config key to `host[:port]`, lower-case, with Docker Hub's
 * aliases mapped to `docker.io`.
 *
 * Docker config keys come in many shapes (`https://index.docker.io/v1/`, `quay.io`,
 * `http://localhost:5000/v2/`); Docker compares them by host after stripping scheme and path
 * (`ConvertToHostname`). The remaining `host[:port]` is normalised by the ref layer's
 * `parseRegistry` (lower-case, canonical IPv6, Hub aliases), so a credential key and an image
 * reference spell one registry identically. A key the ref layer rejects (docker configs can hold
 * odd keys) is still lower-cased, so it can at least match itself.
 */
export function normaliseRegistryKey(key: string): string {
  let host = key.trim()
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(host)
  if (scheme) host = host.slice(scheme[0].length)
  const slash = host.indexOf('/')
  if (slash !== -1) host = host.slice(0, slash)
  const parsed = parseRegistry(host)
  if (parsed.ok) return parsed.registry
  host = host.toLowerCase()
  return isDockerHub(host) ? DOCKER_HUB : host
}

/** Knows no credentials: every registry is accessed anonymously. */
export const anonymousKeychain: Keychain = {
  resolve: async () => ANONYMOUS,
}

/**
 * A fixed map from registry to credential, for credentials given on the command line or in tests.
 * Keys are normalised like any other registry key; when two keys normalise to the same registry
 * the later one wins.
 */
export function staticKeychain(map: Record<string, Credential>): Keychain {
  const byRegistry = new Map<string, Credential>()
  for (const [key, credential] of Object.entries(map)) byRegistry.set(normaliseRegistryKey(key), credential)
  return {
    resolve: async (registry) => byRegistry.get(normaliseRegistryKey(registry)) ?? ANONYMOUS,
  }
}

/**
 * Asks each keychain in order and returns the first non-anonymous credential.
 *
 * An error from a keychain stops the search and is returned to the caller, as ggcr's
 * multikeychain does: a broken configured source should be fixed, not silently skipped.
 * Later keychains are not consulted once one has answered.
 */
export function multiKeychain(...chains: Keychain[]): Keychain {
  return {
    async resolve(registry) {
      for (const chain of chains) {
        const credential = await chain.resolve(registry)
        if (credential.kind !== 'anonymous') return credential
      }
      return ANONYMOUS
    },
  }
}

/**
 * Applies `credential` to the target registry only, and sends every other registry to `fallback`.
 *
 * A token from `--access-token` or a key from `--target-repo-auth-key` is meant for the registry
 * we push to; sending it to a source registry would leak it to a third party. An anonymous
 * `credential` means "nothing given", so the target then goes to `fallback` as well.
 */
export function targetOnlyKeychain(targetRegistry: string, credential: Credential, fallback: Keychain): Keychain {
  const target = normaliseRegistryKey(targetRegistry)
  return {
    resolve(registry) {
      if (credential.kind !== 'anonymous' && normaliseRegistryKey(registry) === target) {
        return Promise.resolve(credential)
      }
      return fallback.resolve(registry)
    },
  }
}
