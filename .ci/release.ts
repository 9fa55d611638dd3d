#!/usr/bin/env bun
/**
 * `npm run release`: the signed release set, built offline. It lives in .ci/ because it is a build tool, run by
 * maintainers and CI from a checkout (it needs git, npm and tar), never part of the shipped binary.
 *
 * For each platform, the Bun runtime comes from the `@oven/bun-*` npm package pinned (version and integrity) in
 * package-lock.json: fetched with `npm pack` (the npm cache makes a second build offline) and kept as the archive,
 * whose sha512 is checked against the lock on every build before the runtime is unpacked from it and handed to
 * `bun build --compile-executable-path`, so Bun itself never downloads anything.
 * Output in dist/release/: `image-syncer-<version>-<os>-<arch>[.exe]`, a reproducible .tar.gz of each, SHA256SUMS,
 * and — with --key FILE, or --keyless (the default under GitHub Actions with an id-token) — SHA256SUMS.sigstore.json.
 *
 * With --image DIR or --push REGISTRY/REPO:TAG, also the container image (.ci/image.ts): an OCI layout in DIR
 * (default dist/image), pushed with the project's registry client (credentials from docker/podman logins).
 *
 * Usage: bun .ci/release.ts [--out DIR] [--targets linux-x64,…] [--key PEM | --keyless] [--cache DIR]
 *        [--image DIR] [--push REF]
 */
import {createHash} from 'node:crypto'
import {chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {parseArgs} from 'node:util'
import {parseReference} from '../src/ref/reference.ts'
import {connectRegistries} from '../src/registry/connect.ts'
import {signBlob, type BlobSigner} from '../src/signatures/blob.ts'
import {realPace} from '../src/commands/pace.ts'
import {gzipFile} from './gzip.ts'
import {buildImage, pushImage} from './image.ts'

const ROOT = resolve(import.meta.dir, '..')

/** Release name → Bun target and the npm package of its runtime. `-musl` is Bun's static-ish build for Alpine. */
export const TARGETS = {
  'linux-x64': {bun: 'bun-linux-x64', pkg: '@oven/bun-linux-x64', exe: ''},
  'linux-x64-musl': {bun: 'bun-linux-x64-musl', pkg: '@oven/bun-linux-x64-musl', exe: ''},
  'linux-arm64': {bun: 'bun-linux-arm64', pkg: '@oven/bun-linux-aarch64', exe: ''},
  'darwin-x64': {bun: 'bun-darwin-x64', pkg: '@oven/bun-darwin-x64', exe: ''},
  'darwin-arm64': {bun: 'bun-darwin-arm64', pkg: '@oven/bun-darwin-aarch64', exe: ''},
  'windows-x64': {bun: 'bun-windows-x64', pkg: '@oven/bun-windows-x64', exe: '.exe'},
} as const
export type Target = keyof typeof TARGETS

/**
 * Chosen by measurement (linux-x64, `plan --help`, mean of 10 runs): plain 107 MiB / 377 ms; minified 106 MiB /
 * 371 ms; bytecode 116 MiB / 113 ms; bytecode + minified 115 MiB / 108 ms. Bytecode costs 9 MiB and cuts startup
 * 3.4×; syntax/whitespace minification saves 1 MiB at no cost. No identifier minification: it mangles class names
 * that sigstore-js reads (bun-notes §4). ESM with splitting (as `npm run build`): the two entrypoints share one
 * oclif instead of each bundling its own, and what a command imports when it runs stays in chunks that a
 * `--version` never loads (test/bench/startup.ts).
 */
const BUILD_FLAGS = [
  '--compile',
  '--bytecode',
  '--format',
  'esm',
  '--splitting',
  '--minify-syntax',
  '--minify-whitespace',
  '--define',
  'process.env.NODE_ENV="production"',
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
]

function run(cmd: string[], what: string, cwd = ROOT): string {
  const r = Bun.spawnSync(cmd, {cwd, stdout: 'pipe', stderr: 'pipe'})
  if (r.exitCode !== 0) throw new Error(`${what} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`)
  return r.stdout.toString()
}

/** `run` without blocking, so the targets build in parallel (one per core). */
async function runAsync(cmd: string[], what: string): Promise<void> {
  const p = Bun.spawn(cmd, {cwd: ROOT, stdout: 'ignore', stderr: 'pipe'})
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${stderr.trim()}`)
}

/** The commit the release is built from; a dirty tree is marked, so a binary never claims a commit it is not. */
export function sourceCommit(): {commit: string; time: number} {
  const commit = run(['git', 'rev-parse', 'HEAD'], 'git rev-parse').trim()
  const dirty = run(['git', 'status', '--porcelain', '--untracked-files=no'], 'git status').trim() !== ''
  const time = Number(run(['git', 'log', '-1', '--format=%ct'], 'git log').trim())
  return {commit: `${commit.slice(0, 12)}${dirty ? '-dirty' : ''}`, time}
}

/** Where `npm pack` leaves the pinned runtime archives between builds; --cache DIR (or ReleaseOptions.cache) moves it. */
const RUNTIME_CACHE = join(ROOT, 'node_modules/.cache/image-syncer-release/runtimes')

/** A refusal the build explains in one sentence (no stack trace): the cause is in the inputs, not in this code. */
class ReleaseRefused extends Error {}

interface Pin {
  pkg: string
  version: string
  integrity: string
}

async function pin(target: Target): Promise<Pin> {
  const {pkg} = TARGETS[target]
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {packages: Record<string, {version?: string; integrity?: string}>}
  const pinned = lock.packages[`node_modules/${pkg}`]
  if (!pinned?.version || !pinned.integrity) throw new ReleaseRefused(`${pkg} is not pinned in package-lock.json (it comes with the bun devDependency)`)
  return {pkg, version: pinned.version, integrity: pinned.integrity}
}

const archiveIn = (cache: string, {pkg, version}: Pin) => join(cache, `${pkg.replace('/', '+')}-${version}.tgz`)

/** The bytes of FILE, refused unless they are the archive package-lock.json pins. */
async function verified(file: string, {pkg, version, integrity}: Pin): Promise<Buffer> {
  const bytes = await readFile(file)
  const [algorithm, expected] = integrity.split('-', 2) as [string, string]
  const actual = createHash(algorithm).update(bytes).digest('base64')
  if (actual !== expected)
    throw new ReleaseRefused(
      `${file} is not ${pkg}@${version}: its ${algorithm} differs from the integrity in package-lock.json, so the release is not built with it (delete the file to fetch it again)`,
    )
  return bytes
}

/** Puts the pinned archive of a target's runtime in the cache (`npm pack`; npm's own cache makes it offline). */
async function fetchRuntime(target: Target, cache: string): Promise<void> {
  const p = await pin(target)
  const file = archiveIn(cache, p)
  if (existsSync(file)) return
  const tmp = await mkdtemp(join(cache, '.pack-'))
  try {
    const packed = JSON.parse(run(['npm', 'pack', `${p.pkg}@${p.version}`, '--json', '--pack-destination', tmp], `npm pack ${p.pkg}`)) as Array<{
      filename: string
    }>
    await verified(join(tmp, packed[0]!.filename), p)
    await rename(join(tmp, packed[0]!.filename), file)
  } finally {
    await rm(tmp, {recursive: true, force: true})
  }
}

/**
 * The runtime binary of a target, unpacked into DIR from archive bytes checked against the lock on this build:
 * the cache is only a copy that anyone with write access to it may have replaced since it was fetched, and what
 * is unpacked is the very buffer that was hashed.
 */
async function unpackRuntime(target: Target, cache: string, dir: string): Promise<string> {
  const p = await pin(target)
  const bytes = await verified(archiveIn(cache, p), p)
  await mkdir(dir, {recursive: true})
  const tar = Bun.spawn(['tar', 'xzf', '-', '-C', dir], {stdin: bytes, stdout: 'ignore', stderr: 'pipe'})
  const [code, stderr] = await Promise.all([tar.exited, new Response(tar.stderr).text()])
  if (code !== 0) throw new Error(`unpacking ${TARGETS[target].pkg} failed (exit ${code}): ${stderr.trim()}`)
  return join(dir, 'package/bin', `bun${TARGETS[target].exe}`)
}

export function releaseName(version: string, target: Target): string {
  return `image-syncer-${version}-${target}${TARGETS[target].exe}`
}

async function compile(target: Target, out: string, commit: string, executable: string): Promise<void> {
  const define = ['--define', `IMAGE_SYNCER_COMMIT=${JSON.stringify(commit)}`]
  const cmd = [process.execPath, 'build', ...BUILD_FLAGS, ...define, `--target=${TARGETS[target].bun}`, `--compile-executable-path=${executable}`]
  await runAsync([...cmd, '--root', '.', 'src/cli.ts', 'src/commands.ts', '--outfile', out], `bun build for ${target}`)
}

/** A .tar.gz with one entry, byte-identical for one commit: fixed mtime, owner 0/0, no gzip name or time. */
async function archive(dir: string, name: string, mtime: number): Promise<string> {
  const file = `${name.replace(/\.exe$/, '')}.tar.gz`
  const tar = Bun.spawn(['tar', '--format=ustar', `--mtime=@${mtime}`, '--owner=0', '--group=0', '--numeric-owner', '--mode=0755', '-cf', '-', name], {
    cwd: dir,
    stdout: 'pipe',
    stderr: 'ignore',
  })
  const bytes = await new Response(tar.stdout).bytes()
  if ((await tar.exited) !== 0) throw new Error(`archiving ${name} failed`)
  await gzipFile(bytes, join(dir, file))
  return file
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex')
}

export interface ReleaseOptions {
  out: string
  targets: Target[]
  signer: BlobSigner | null
  env: Record<string, string | undefined>
  /** Default RUNTIME_CACHE. */
  cache?: string
}

export async function release(options: ReleaseOptions): Promise<{files: Array<{name: string; bytes: number}>; commit: string}> {
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version
  const {commit, time} = sourceCommit()
  await rm(options.out, {recursive: true, force: true})
  await mkdir(options.out, {recursive: true})
  const cache = options.cache ?? RUNTIME_CACHE
  await mkdir(cache, {recursive: true})
  // Runtimes first, one at a time (npm pack into the cache), then the builds in parallel, each on a runtime
  // unpacked afresh from its re-checked archive and removed after.
  for (const target of options.targets) await fetchRuntime(target, cache)
  const unpacked = await mkdtemp(join(tmpdir(), 'image-syncer-runtimes-'))
  let names: string[][]
  try {
    names = await inParallel(options.targets, 2, async (target) => {
      const name = releaseName(version, target)
      const executable = await unpackRuntime(target, cache, join(unpacked, target))
      await compile(target, join(options.out, name), commit, executable)
      await rm(join(unpacked, target), {recursive: true, force: true})
      await chmod(join(options.out, name), 0o755)
      return [name, await archive(options.out, name, time)]
    })
  } finally {
    await rm(unpacked, {recursive: true, force: true})
  }
  const files = names.flat().sort()
  const sums = (await Promise.all(files.map(async (f) => `${await sha256(join(options.out, f))}  ${f}\n`))).join('')
  await writeFile(join(options.out, 'SHA256SUMS'), sums)
  if (options.signer) await signSums(options.out, options.signer, options.env)
  return {files: await Promise.all(files.map(async (name) => ({name, bytes: (await stat(join(options.out, name))).size}))), commit}
}

/** Signs DIR/SHA256SUMS into DIR/SHA256SUMS.sigstore.json, as `cosign sign-blob --bundle` would. */
export async function signSums(dir: string, signer: BlobSigner, env: Record<string, string | undefined>): Promise<void> {
  const sums = await readFile(join(dir, 'SHA256SUMS'))
  await writeFile(join(dir, 'SHA256SUMS.sigstore.json'), await signBlob(sums, signer, env))
}

/** `map` with at most `limit` running at once: each bytecode build takes a core and ~1 GB of memory. */
async function inParallel<T, R>(items: T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await map(items[index]!)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return results
}

/** --key wins; --keyless, or GitHub Actions with an id-token, signs keyless; otherwise the set is unsigned. */
function signerFrom(values: {key?: string; keyless?: boolean}, env: Record<string, string | undefined>): BlobSigner | null {
  if (values.key) return {kind: 'key', keyPath: resolve(values.key)}
  if (values.keyless || (env.GITHUB_ACTIONS === 'true' && env.ACTIONS_ID_TOKEN_REQUEST_URL)) return {kind: 'keyless'}
  return null
}

if (import.meta.main) {
  const {values} = parseArgs({
    options: {
      out: {type: 'string'},
      targets: {type: 'string'},
      key: {type: 'string'},
      keyless: {type: 'boolean'},
      cache: {type: 'string'},
      image: {type: 'string'},
      push: {type: 'string'},
    },
  })
  const targets = (values.targets?.split(',') ?? Object.keys(TARGETS)) as Target[]
  const unknown = targets.find((t) => !(t in TARGETS))
  if (unknown) throw new Error(`unknown target ${unknown}; known: ${Object.keys(TARGETS).join(', ')}`)
  const signer = signerFrom(values, process.env)
  const out = resolve(values.out ?? join(ROOT, 'dist/release'))
  const cache = values.cache === undefined ? undefined : resolve(values.cache)
  const result = await release({out, targets, signer, env: process.env, cache}).catch((e: unknown) => {
    if (!(e instanceof ReleaseRefused)) throw e
    console.error(`release: ${e.message}.`)
    process.exit(1)
  })
  for (const f of result.files) console.log(`${(f.bytes / 1024 / 1024).toFixed(1).padStart(7)} MiB  ${f.name}`)
  console.log(`${out}: commit ${result.commit}, ${signer ? `SHA256SUMS signed (${signer.kind})` : 'SHA256SUMS unsigned (give --key or --keyless)'}`)
  if (values.image !== undefined || values.push !== undefined) {
    const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version
    const binaries = {'linux-x64': join(out, releaseName(version, 'linux-x64')), 'linux-arm64': join(out, releaseName(version, 'linux-arm64'))}
    const source =
      process.env.GITHUB_SERVER_URL && process.env.GITHUB_REPOSITORY
        ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}`
        : 'https://github.com/OWNER/image-syncer'
    const layout = resolve(values.image ?? join(ROOT, 'dist/image'))
    const image = await buildImage({binaries, version, commit: result.commit, time: sourceCommit().time, source}, layout)
    console.log(`${layout}: OCI layout, index ${image.index}`)
    if (values.push !== undefined) {
      const ref = parseReference(values.push)
      const tag = ref.tag ?? version
      const client = await connectRegistries({targetRegistry: ref.registry, insecureRegistries: [], mirrors: {}, pace: realPace()}, version)
      await pushImage(client, {registry: ref.registry, repository: ref.repository}, tag, image)
      console.log(`pushed ${ref.registry}/${ref.repository}:${tag}@${image.index}`)
    }
  }
}
