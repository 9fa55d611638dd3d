/**
 * The release set the smoke tests share, built once per test run: `.ci/test` builds it before the tests and
 * names it in SYNCER_RELEASE_DIR; a test file run on its own builds it into a cache keyed by the commit (rebuilt
 * when the work tree is dirty, since then the commit does not say what is in it).
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {readFile} from 'node:fs/promises'
import {release, releaseName, sourceCommit, TARGETS, type Target} from '../../.ci/release.ts'

const ROOT = join(import.meta.dir, '../..')

export interface ReleaseSet {
  dir: string
  version: string
  commit: string
  path(target: Target): string
}

let built: Promise<ReleaseSet> | undefined

export function releaseSet(): Promise<ReleaseSet> {
  built ??= build()
  return built
}

async function build(): Promise<ReleaseSet> {
  const {version} = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {version: string}
  const {commit} = sourceCommit()
  let dir = process.env.SYNCER_RELEASE_DIR
  if (dir === undefined) {
    dir = join(ROOT, 'node_modules/.cache/image-syncer-release', `set-${commit}`)
    if (commit.endsWith('-dirty') || !existsSync(join(dir, 'SHA256SUMS'))) {
      await release({out: dir, targets: Object.keys(TARGETS) as Target[], signer: null, env: {}})
    }
  }
  const at = dir
  return {dir: at, version, commit, path: (target) => join(at, releaseName(version, target))}
}
