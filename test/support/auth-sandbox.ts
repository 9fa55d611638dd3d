/**
 * Test helpers for the auth layer: a temp directory with a docker config and real
 * `docker-credential-*` shell scripts, so tests run the same code paths as production.
 * They live in test/support, like every test helper.
 */
import {chmod, mkdtemp, mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface AuthSandbox {
  root: string
  /** Directory that holds config.json; use as env.DOCKER_CONFIG. */
  configDir: string
  /** Directory for helper scripts; first on `pathEnv`. */
  binDir: string
  /** `binDir` plus the system directories the scripts' own commands (cat, sleep) need. */
  pathEnv: string
  writeConfig(config: unknown): Promise<string>
  writeRaw(name: string, text: string): Promise<string>
  /** Writes `docker-credential-<name>` as a /bin/sh script; each run appends its stdin to `<name>.calls`. */
  writeHelper(name: string, body: string): Promise<void>
  /** The server URLs the helper was asked for, one per run. */
  helperCalls(name: string): Promise<string[]>
  cleanup(): Promise<void>
}

export async function authSandbox(): Promise<AuthSandbox> {
  const root = await mkdtemp(join(tmpdir(), 'image-syncer-auth-'))
  const configDir = join(root, 'docker')
  const binDir = join(root, 'bin')
  await mkdir(configDir)
  await mkdir(binDir)
  return {
    root,
    configDir,
    binDir,
    pathEnv: `${binDir}:/usr/bin:/bin`,
    async writeConfig(config) {
      const path = join(configDir, 'config.json')
      await writeFile(path, JSON.stringify(config, null, 2))
      return path
    },
    async writeRaw(name, text) {
      const path = join(root, name)
      await writeFile(path, text)
      return path
    },
    async writeHelper(name, body) {
      const path = join(binDir, `docker-credential-${name}`)
      const calls = join(root, `${name}.calls`)
      const script = [
        '#!/bin/sh',
        `[ "$1" = get ] || { echo "unexpected argument: $1" >&2; exit 3; }`,
        'input=$(cat)',
        `printf '%s\\n' "$input" >> '${calls}'`,
        body,
        '',
      ].join('\n')
      await writeFile(path, script)
      await chmod(path, 0o755)
    },
    async helperCalls(name) {
      try {
        const text = await readFile(join(root, `${name}.calls`), 'utf8')
        return text.split('\n').filter((l) => l !== '')
      } catch {
        return []
      }
    },
    cleanup: () => rm(root, {recursive: true, force: true}),
  }
}

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64')
}
