/**
 * Credentials from podman, buildah and skopeo (`podman login`): containers-auth.json(5), the Docker config format
 * in other places. As containers/image looks them up: `$REGISTRY_AUTH_FILE` when set, else
 * `$XDG_RUNTIME_DIR/containers/auth.json`, then `$XDG_CONFIG_HOME/containers/auth.json` (default
 * `~/.config/containers/auth.json`); each file is asked in turn, and Docker's config after them all.
 */
import {homedir} from 'node:os'
import {join} from 'node:path'
import type {Keychain} from './credential.ts'
import {dockerConfigKeychain, type DockerConfigKeychainOptions} from './docker-config.ts'
import {multiKeychain} from './keychain.ts'

/** The containers auth files to ask, in order. */
export function containersAuthPaths(env: Record<string, string | undefined>, homeDir: string): string[] {
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE]
  const paths: string[] = []
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'))
  paths.push(join(env.XDG_CONFIG_HOME || join(homeDir, '.config'), 'containers', 'auth.json'))
  return paths
}

/** Every local login a user may have made: podman's files first (as podman and skopeo read them), then Docker's. */
export function localLoginKeychain(options: DockerConfigKeychainOptions = {}): Keychain {
  const env = options.env ?? process.env
  const homeDir = options.homeDir ?? (env.HOME || homedir())
  const containers = containersAuthPaths(env, homeDir).map((configPath) => dockerConfigKeychain({...options, env, homeDir, configPath}))
  return multiKeychain(...containers, dockerConfigKeychain({...options, env, homeDir}))
}
