/**
 * What a registry credential is, and the one interface every credential source implements.
 *
 * Modelled on ggcr's `pkg/authn`: a `Keychain` maps a registry to a credential and knows nothing
 * about HTTP. The transport layer decides how a credential is spent (Basic header, token exchange
 * with a refresh token, or a bearer token used as is), which is why the kinds are kept apart here
 * instead of being flattened into a username and password.
 */
import {SyncerError} from '../ref/errors.ts'

/**
 * A credential for one registry, discriminated by `kind` so the transport cannot confuse a
 * refresh token with an access token.
 */
export type Credential =
  | {kind: 'anonymous'}
  | {kind: 'basic'; username: string; password: string}
  /**
   * An OAuth2 refresh token for the registry's token endpoint: docker config `identitytoken`,
   * or a credential helper answering with Username `<token>`.
   */
  | {kind: 'identity-token'; token: string}
  /** A bearer access token sent as is (`--access-token`, docker config `registrytoken`). */
  | {kind: 'registry-token'; token: string}

/** The shared "no credential" value; a keychain that knows nothing about a registry returns it. */
export const ANONYMOUS: Credential = Object.freeze({kind: 'anonymous'})

/**
 * Maps a registry to the credential to use for it.
 *
 * `registry` is a normalised `host[:port]` (see `normaliseRegistryKey`), `docker.io` for Docker
 * Hub. Implementations normalise again anyway, so callers passing an alias still match.
 * "Nothing known" is `{kind: 'anonymous'}`, not an error: errors mean a configured source is broken.
 */
export interface Keychain {
  resolve(registry: string): Promise<Credential>
}

/** Why resolving a credential failed; callers branch on `code`, never on the message. */
export type AuthErrorCode =
  /** The docker config file is not JSON, has the wrong shape, or holds an undecodable `auth`. */
  | 'DOCKER_CONFIG_INVALID'
  /** The docker config file exists but could not be read (permissions, a directory, …). */
  | 'DOCKER_CONFIG_UNREADABLE'
  /** The configured `docker-credential-<name>` executable is not on PATH. */
  | 'CRED_HELPER_NOT_FOUND'
  /** The credential helper exited with an error, timed out, or answered with something unusable. */
  | 'CRED_HELPER_FAILED'
  /** The JSON key file (`--target-repo-auth-key`) could not be read. */
  | 'KEY_FILE_UNREADABLE'
  /** The JSON key file was read but is not a JSON object. */
  | 'KEY_FILE_INVALID'
  /** A cloud's workload identity is configured (token file, ADC file, metadata server) but gave no registry credential. */
  | 'WORKLOAD_IDENTITY_FAILED'

export interface AuthErrorOptions {
  /** The normalised registry the failure concerns, when there is one. */
  registry?: string
  /** The file the failure concerns (config file, key file); a path, never its contents. */
  path?: string
  /** One sentence telling the user what to do about it. */
  hint?: string
  /**
   * The underlying error. Only pass errors that cannot carry secrets (file-system errors do not);
   * never a JSON.parse error on secret-bearing text, whose message may quote the input (V8 does).
   */
  cause?: Error
}

/**
 * The one error class of the auth layer.
 *
 * Messages name the source (file path, helper name, registry) and never include a password,
 * token, helper output that looks like credentials, or file contents. `toJSON` lists the fields
 * explicitly so that serialising an error cannot pick up anything else.
 */
export class AuthError extends SyncerError {
  override readonly name = 'AuthError'
  readonly category = 'auth' as const
  readonly code: AuthErrorCode
  readonly registry?: string
  readonly path?: string
  readonly hint?: string

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.code = code
    if (options.registry !== undefined) this.registry = options.registry
    if (options.path !== undefined) this.path = options.path
    if (options.hint !== undefined) this.hint = options.hint
  }

  toJSON(): {name: string; code: AuthErrorCode; message: string; registry?: string; path?: string; hint?: string} {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.registry === undefined ? {} : {registry: this.registry}),
      ...(this.path === undefined ? {} : {path: this.path}),
      ...(this.hint === undefined ? {} : {hint: this.hint}),
    }
  }
}

/**
 * What a credential holds that must never be shown, in the forms it is sent: a token, or a password and the
 * base64 of `user:password` (the Basic header, a docker config `auth`). For the run's mask (ref/secrets.ts).
 */
export function credentialSecrets(credential: Credential): string[] {
  switch (credential.kind) {
    case 'anonymous':
      return []
    case 'basic':
      return [credential.password, Buffer.from(`${credential.username}:${credential.password}`).toString('base64')]
    case 'identity-token':
    case 'registry-token':
      return [credential.token]
  }
}

/**
 * A log-safe description of a credential: its kind and, for basic auth, the username.
 * Never a password or token, so it can go into `--verbose` output and plan files.
 */
export function describeCredential(credential: Credential): string {
  switch (credential.kind) {
    case 'anonymous':
      return 'anonymous'
    case 'basic':
      return `basic auth as "${credential.username}"`
    case 'identity-token':
      return 'identity token (refresh token)'
    case 'registry-token':
      return 'registry token (bearer)'
  }
}
