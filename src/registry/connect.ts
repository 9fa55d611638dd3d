/**
 * The composition root of registry access: credentials (docker config, plus the target-only token or key),
 * endpoints (scheme, mirrors), TLS material (CA files, certs.d) and the transport, assembled once per command run.
 */
import {jsonKeyCredential} from '../auth/key-file.ts'
import {localLoginKeychain} from '../auth/containers-auth.ts'
import {multiKeychain, targetOnlyKeychain} from '../auth/keychain.ts'
import {workloadIdentityKeychain} from '../auth/workload-identity.ts'
import {ANONYMOUS, type Credential, credentialSecrets} from '../auth/credential.ts'
import {homedir} from 'node:os'
import type {Secrets} from '../ref/secrets.ts'
import type {Pace} from '../transport/retry.ts'
import {fetchTls} from '../transport/tls.ts'
import {type HostConcurrency, type RateLimitWait, type RequestEvent, Transport} from '../transport/transport.ts'
import {layoutDirOf, parseTargetPrefix} from '../ref/target.ts'
import {certificateLookup} from './certs.ts'
import {RegistryClient} from './client.ts'
import {endpointFor, type EndpointOptions} from './endpoints.ts'
import type {Stores} from './handle.ts'
import {RoutedStores} from './stores.ts'

export interface ConnectOptions extends EndpointOptions {
  /** The registry we write to; the access token and key file are sent to it and to no other. */
  targetRegistry: string
  /** The run's backoff, pauses and clock, made by the command (commands/pace.ts), used by every store. */
  pace: Pace
  /** --access-token / SYNCER_ACCESS_TOKEN: a bearer token for the target. */
  accessToken?: string
  /** --target-repo-auth-key / SYNCER_TARGET_REPO_AUTH_KEY: a JSON key file → Basic `_json_key`. */
  authKeyFile?: string
  env?: Record<string, string | undefined>
  /** --ca-file / SYNCER_CA_FILE: PEM files of CAs trusted for every registry. */
  caFiles?: readonly string[]
  /** certs.d directories (`<dir>/<host[:port]>/*.crt`, `client.cert` + `client.key`); none when absent. */
  certsDirs?: readonly string[]
  timeoutMs?: number
  /** --requests-per-registry: the most in flight per host, the ceiling of the adaptive limit. */
  maxConcurrentPerHost?: number
  /** `adaptive` unless a benchmark sets the fixed limit beside it (transport/throttle.ts). */
  hostConcurrency?: HostConcurrency
  /** --chunk-size: upload blobs in PATCH chunks of this many bytes instead of one PUT. */
  chunkSize?: number
  onRequest?: (event: RequestEvent) => void
  /** Told before each wait on a 429 (Retry-After), so that the command can say why it stalls. */
  onRateLimited?: (wait: RateLimitWait) => void
  /** The run's secrets: the transport adds what it spends and obtains; outputs are masked with it. */
  secrets?: Secrets
}

const USER_AGENT = 'image-syncer'

export async function connectRegistries(options: ConnectOptions, version: string): Promise<RegistryClient> {
  let targetCredential: Credential = ANONYMOUS
  if (options.accessToken) targetCredential = {kind: 'registry-token', token: options.accessToken}
  else if (options.authKeyFile) targetCredential = await jsonKeyCredential(options.authKeyFile)
  // Known from the start, whether or not a request ever spends them.
  for (const secret of credentialSecrets(targetCredential)) options.secrets?.add(secret)
  const env = options.env ?? process.env
  const tls = await certificateLookup({caFiles: options.caFiles ?? [], certsDirs: options.certsDirs ?? []})
  // The chain's order: the explicit target credential, local logins, then the platform's workload identity.
  const identity = workloadIdentityKeychain({
    env,
    homeDir: env.HOME || homedir(),
    now: options.pace.now,
    ...(options.secrets ? {secrets: options.secrets} : {}),
    tls: async (host) => {
      const material = await tls(host)
      return material ? fetchTls(material) : null
    },
  })
  const keychain = targetOnlyKeychain(options.targetRegistry, targetCredential, multiKeychain(localLoginKeychain({env}), identity))
  const transport = new Transport({
    credentials: (registry) => keychain.resolve(registry),
    pace: options.pace,
    tls,
    insecureHosts: options.insecureRegistries,
    userAgent: `${USER_AGENT}/${version}`,
    ...(options.timeoutMs !== undefined ? {timeoutMs: options.timeoutMs} : {}),
    ...(options.maxConcurrentPerHost !== undefined ? {maxConcurrentPerHost: options.maxConcurrentPerHost} : {}),
    ...(options.hostConcurrency ? {hostConcurrency: options.hostConcurrency} : {}),
    ...(options.onRequest ? {onRequest: options.onRequest} : {}),
    ...(options.onRateLimited ? {onRateLimited: options.onRateLimited} : {}),
    ...(options.secrets ? {secrets: options.secrets} : {}),
  })
  const endpoints = {insecureRegistries: options.insecureRegistries, mirrors: options.mirrors}
  return new RegistryClient(transport, (registry) => endpointFor(registry, endpoints), options.chunkSize !== undefined ? {chunkSize: options.chunkSize} : {})
}

/**
 * The stores of a run that writes under `targetRepoPrefix`: its registry, or the layout tree of an `oci:DIR/`
 * prefix, plus the source registries that `--mirror HOST=oci:DIR/` serves from layout trees.
 */
export async function connectStores(options: Omit<ConnectOptions, 'targetRegistry'> & {targetRepoPrefix: string}, version: string): Promise<Stores> {
  const target = parseTargetPrefix(options.targetRepoPrefix)
  const sources = new Map<string, string>()
  const mirrors: Record<string, string> = {}
  for (const [registry, mirror] of Object.entries(options.mirrors)) {
    const dir = layoutDirOf(mirror)
    if (dir === null) mirrors[registry] = mirror
    else sources.set(registry, dir)
  }
  const client = await connectRegistries({...options, mirrors, targetRegistry: target.registry}, version)
  if (target.layoutDir === undefined && sources.size === 0) return client
  return new RoutedStores(client, {target: target.layoutDir ?? null, sources}, options.pace)
}
