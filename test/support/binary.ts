/** The compiled binary the end-to-end tests run: `npm test` builds it first; a test file run on its own builds it here. */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

const repoRoot = join(import.meta.dir, '../..')

/** dist/image-syncer's path, built (`bun run build`) when it is not there. */
export function builtBinary(): string {
  const binary = join(repoRoot, 'dist/image-syncer')
  if (!existsSync(binary)) {
    const build = Bun.spawnSync([process.execPath, 'run', 'build'], {cwd: repoRoot, stdout: 'ignore', stderr: 'inherit'})
    if (build.exitCode !== 0) throw new Error('bun run build failed')
  }
  return binary
}
