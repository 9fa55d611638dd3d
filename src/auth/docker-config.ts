/**
 * Credentials from the Docker CLI's config file, so that `docker login` (or a CI login action)
 * is all a user needs to do before running image-syncer.
 *
 * Follows Docker's own lookup (docker/cli `configfile.GetAuthConfig`, ggcr `authn.DefaultKeychain`,
 * regclient `config/docker.go`):
 *   1. `credHelpers[registry]`: a per-registry credential helper;
 *   2. else `credsStore`: the default helper for every registry;
 *   3. else `auths[registry]`: `identitytoken`, `registrytoken`, `auth` (base64 `user:pass`)
 *      or `username`/`password`.
 * As in Docker, once a helper is chosen the `auths` entry is not consulted: a helper answering
 * "credentials not found" means anonymous.
 */
import {homedir} from 'node:os'
import {join} from 'node:path'
import {FileReadError, readUserFile} from '../files/read.ts'
import {DEFAULT_HELPER_TIMEOUT_MS, isValidHelperName, runCredentialHelper} from './cred-helper.ts'
import {ANONYMOUS, AuthError, type Credential, type Keychain} from './credential.ts'
import {DOCKER_HUB, DOCKER_HUB_SERVER_URL, normaliseRegistryKey} from './keychain.ts'

export interface DockerConfigKeychainOptions {
  /** The environment: `DOCKER_CONFIG`, `HOME`, and what credential helpers run with. Default `process.env`. */
  env?: Record<string, string | undefined>
  /** Home directory for `~/.docker/config.json`. Default `env.HOME`, else the OS's idea of home. */
  homeDir?: string
  /** PATH to find and run `docker-credential-*` helpers with. Default `env.PATH`. */
  pathEnv?: string
  /** How long one helper run may take. Default `DEFAULT_HELPER_TIMEOUT_MS`. */
  helperTimeoutMs?: number
  /** Another file of the same format (podman's containers auth.json). Default `dockerConfigPath`. */
  configPath?: string
}

/** The `auths` fields we understand; Docker writes others (`email`, `serveraddress`) that we ignore. */
interface AuthEntry {
  auth?: string
  username?: string
  password?: string
  identitytoken?: string
  registrytoken?: string
}

/** A validated config file, with every key already normalised. */
interface DockerConfig {
  path: string
  auths: Array<{key: string; registry: string; entry: AuthEntry}>
  credHelpers: Array<{registry: string; helper: string}>
  credsStore: string | undefined
}

const AUTH_ENTRY_FIELDS = ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const

/** Where Docker reads its config: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: Record<string, string | undefined>, homeDir: string): string {
  const dir = env.DOCKER_CONFIG
  return dir ? join(dir, 'config.json') : join(homeDir, '.docker', 'config.json')
}

/**
 * A keychain backed by the Docker config file.
 *
 * The file is read once, on the first `resolve`. A missing file means anonymous for every
 * registry. Results are cached per registry for the life of the keychain, and concurrent
 * resolves of one registry share a single helper run; a failed resolve is not cached, so a
 * later call tries again.
 */
export function dockerConfigKeychain(options: DockerConfigKeychainOptions = {}): Keychain {
  const env = options.env ?? process.env
  const homeDir = options.homeDir ?? (env.HOME || homedir())
  const pathEnv = options.pathEnv ?? env.PATH
  const timeoutMs = options.helperTimeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS
  const path = options.configPath ?? dockerConfigPath(env, homeDir)

  let config: Promise<DockerConfig | null> | undefined
  const cache = new Map<string, Promise<Credential>>()

  async function lookUp(registry: string): Promise<Credential> {
    config ??= loadDockerConfig(path)
    const loaded = await config
    if (loaded === null) return ANONYMOUS
    const helper = loaded.credHelpers.find((h) => h.registry === registry)?.helper ?? loaded.credsStore
    if (helper !== undefined) {
      const serverUrl = registry === DOCKER_HUB ? DOCKER_HUB_SERVER_URL : registry
      return runCredentialHelper({helper, serverUrl, registry, env, pathEnv, timeoutMs})
    }
    return credentialFromAuths(loaded, registry)
  }

  return {
    resolve(registryName) {
      const registry = normaliseRegistryKey(registryName)
      let pending = cache.get(registry)
      if (pending === undefined) {
        pending = lookUp(registry)
        cache.set(registry, pending)
        pending.catch(() => {
          if (cache.get(registry) === pending) cache.delete(registry)
        })
      }
      return pending
    },
  }
}

/**
 * A config with a hundred logins is a few KiB (helpers keep the secrets elsewhere); 1 MiB is far above that and
 * refuses a wrong file before it is parsed.
 */
const MAX_DOCKER_CONFIG_BYTES = 1024 * 1024

/**
 * Reads and validates the config file. Absent (or in an absent directory) → null. Errors name
 * the path and the offending field, never the contents; JSON.parse's message is dropped since it
 * can quote (V8's does) the text around the syntax error, which may be a credential.
 */
async function loadDockerConfig(path: string): Promise<DockerConfig | null> {
  let text: string
  try {
    text = (await readUserFile(path, {what: 'docker config', maxBytes: MAX_DOCKER_CONFIG_BYTES})).toString('utf8')
  } catch (error) {
    if (!(error instanceof FileReadError)) throw error
    if (error.code === 'NOT_FOUND') return null
    throw new AuthError('DOCKER_CONFIG_UNREADABLE', error.message, {path})
  }
  // Docker and regclient treat an empty file as an empty config.
  if (text.trim() === '') return {path, auths: [], credHelpers: [], credsStore: undefined}
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new AuthError('DOCKER_CONFIG_INVALID', `docker config ${path} is not valid JSON`, {
      path,
      hint: 'fix or remove the file, or point DOCKER_CONFIG at another directory',
    })
  }
  return validateDockerConfig(raw, path)
}

function validateDockerConfig(raw: unknown, path: string): DockerConfig {
  const invalid = (what: string): AuthError => new AuthError('DOCKER_CONFIG_INVALID', `docker config ${path}: ${what}`, {path})
  if (!isObject(raw)) throw invalid('the top level must be a JSON object')

  const auths: DockerConfig['auths'] = []
  if (raw.auths !== undefined && raw.auths !== null) {
    if (!isObject(raw.auths)) throw invalid('"auths" must be an object')
    for (const [key, value] of Object.entries(raw.auths)) {
      if (!isObject(value)) throw invalid(`"auths" entry "${key}" must be an object`)
      const entry: AuthEntry = {}
      for (const field of AUTH_ENTRY_FIELDS) {
        const v = value[field]
        if (v === undefined || v === null) continue
        if (typeof v !== 'string') throw invalid(`"${field}" of "auths" entry "${key}" must be a string`)
        entry[field] = v
      }
      auths.push({key, registry: normaliseRegistryKey(key), entry})
    }
  }

  const credHelpers: DockerConfig['credHelpers'] = []
  if (raw.credHelpers !== undefined && raw.credHelpers !== null) {
    if (!isObject(raw.credHelpers)) throw invalid('"credHelpers" must be an object')
    for (const [key, helper] of Object.entries(raw.credHelpers)) {
      if (typeof helper !== 'string' || !isValidHelperName(helper)) {
        throw invalid(`"credHelpers" entry "${key}" must name a docker-credential-<name> helper`)
      }
      credHelpers.push({registry: normaliseRegistryKey(key), helper})
    }
  }

  let credsStore: string | undefined
  if (raw.credsStore !== undefined && raw.credsStore !== null && raw.credsStore !== '') {
    if (typeof raw.credsStore !== 'string' || !isValidHelperName(raw.credsStore)) {
      throw invalid('"credsStore" must name a docker-credential-<name> helper')
    }
    credsStore = raw.credsStore
  }
  return {path, auths, credHelpers, credsStore}
}

/**
 * The credential in `auths` for a registry. Several keys may normalise to one registry
 * (`https://index.docker.io/v1/` and `docker.io`); the key Docker itself writes is tried first,
 * then the others in file order, and the first entry holding a credential wins. Entries without
 * one (`{}` placeholders left by `docker login` with a credsStore) are skipped.
 */
function credentialFromAuths(config: DockerConfig, registry: string): Credential {
  const canonicalKey = registry === DOCKER_HUB ? DOCKER_HUB_SERVER_URL : registry
  const candidates = config.auths.filter((a) => a.registry === registry)
  candidates.sort((a, b) => Number(b.key === canonicalKey) - Number(a.key === canonicalKey))
  for (const {key, entry} of candidates) {
    const credential = credentialFromEntry(entry, key, registry, config.path)
    if (credential.kind !== 'anonymous') return credential
  }
  return ANONYMOUS
}

/**
 * One `auths` entry as a credential. An identity token wins over a password, as in Docker,
 * where `az acr login` and similar store both a placeholder user and the refresh token.
 */
function credentialFromEntry(entry: AuthEntry, key: string, registry: string, path: string): Credential {
  if (entry.identitytoken) return {kind: 'identity-token', token: entry.identitytoken}
  if (entry.registrytoken) return {kind: 'registry-token', token: entry.registrytoken}
  if (entry.auth) {
    const decoded = decodeAuth(entry.auth)
    if (decoded === null) {
      throw new AuthError('DOCKER_CONFIG_INVALID', `docker config ${path}: "auth" of "auths" entry "${key}" is not base64 of user:password`, {
        path,
        registry,
      })
    }
    if (decoded.username === '' && decoded.password === '') return ANONYMOUS
    return {kind: 'basic', ...decoded}
  }
  if (entry.password) return {kind: 'basic', username: entry.username ?? '', password: entry.password}
  return ANONYMOUS
}

/** base64 `user:password` → parts; null when it is not that. Trailing NULs are trimmed, as in Docker. */
function decodeAuth(auth: string): {username: string; password: string} | null {
  const compact = auth.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) return null
  const text = Buffer.from(compact, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon === -1) return null
  return {username: text.slice(0, colon), password: text.slice(colon + 1).replace(/\0+$/, '')}
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
