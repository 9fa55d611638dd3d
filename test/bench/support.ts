/** What the benchmarks share: random content, hand-built manifests, pushing them, and the peak RSS of a child. */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {mapLimit} from '../../src/transport/limiter.ts'
import {type Blob, pushBlob, putManifest} from '../support/images.ts'

export const MB = 1_000_000
const repoRoot = join(import.meta.dir, '../..')

export function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let offset = 0; offset < size; offset += 65_536) crypto.getRandomValues(out.subarray(offset, Math.min(size, offset + 65_536)))
  return out
}
export const blob = (bytes: Uint8Array, mediaType: string = MediaType.OciLayerGzip): Blob => ({bytes, digest: sha256Digest(bytes), mediaType})
export const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const descriptor = (b: {digest: string; bytes: Uint8Array; mediaType: string}) => ({mediaType: b.mediaType, digest: b.digest, size: b.bytes.byteLength})

export interface Manifest {
  bytes: Uint8Array
  digest: string
  mediaType: string
  blobs: Blob[]
}

export function image(arch: string, layers: Blob[]): Manifest {
  const config = blob(
    json({os: 'linux', architecture: arch, rootfs: {type: 'layers', diff_ids: layers.map((l) => l.digest)}, nonce: crypto.randomUUID()}),
    MediaType.OciConfig,
  )
  const bytes = json({schemaVersion: 2, mediaType: MediaType.OciManifest, config: descriptor(config), layers: layers.map(descriptor)})
  return {bytes, digest: sha256Digest(bytes), mediaType: MediaType.OciManifest, blobs: [config, ...layers]}
}

/** An OCI index of linux images, one per architecture, in the order given. */
export function index(children: Array<{arch: string; manifest: Manifest}>): Manifest {
  const bytes = json({
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: children.map((c) => ({...descriptor(c.manifest), platform: {os: 'linux', architecture: c.arch}})),
  })
  return {bytes, digest: sha256Digest(bytes), mediaType: MediaType.OciIndex, blobs: []}
}

export async function push(registry: {url: string}, repo: string, tag: string, manifests: Manifest[], top?: Manifest): Promise<void> {
  for (const m of manifests) {
    for (const b of m.blobs) await pushBlob(registry.url, repo, b)
    await putManifest(registry.url, repo, top ? m.digest : tag, m.bytes, m.mediaType)
  }
  if (top) await putManifest(registry.url, repo, tag, top.bytes, top.mediaType)
}

/**
 * Peak RSS of a running child, from /proc/<pid>/status VmHWM (the kernel's high-water mark), sampled until it
 * exits. (Bun's resourceUsage().maxRSS covers all children, registries included, so it cannot tell.)
 */
export function watchPeakRss(pid: number): {stop(): number} {
  let peakKiB = 0
  const sample = () => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      if (match) peakKiB = Math.max(peakKiB, Number(match[1]))
    } catch {
      // The process has exited.
    }
  }
  const timer = setInterval(sample, 25)
  return {
    stop() {
      clearInterval(timer)
      return peakKiB / 1024
    },
  }
}

/** Blob descriptors of every image manifest under repo:tag (children of an index included). */
export async function manifestsOf(registry: {url: string}, repo: string, reference: string): Promise<Array<Array<{digest: string; size: number}>>> {
  const accept = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ')
  const body = (await (await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {headers: {accept}})).json()) as {
    manifests?: Array<{digest: string}>
    config?: {digest: string; size: number}
    layers?: Array<{digest: string; size: number}>
  }
  if (body.manifests) return (await Promise.all(body.manifests.map((m) => manifestsOf(registry, repo, m.digest)))).flat()
  return [[body.config!, ...body.layers!]]
}

/**
 * The standalone binary when built (what ops run; starts in ~40 ms instead of ~200 ms), else the CLI from source.
 * SYNCER_BENCH_CLI names another binary, e.g. one built from an older commit, to compare before and after.
 */
export async function cliCommand(): Promise<string[]> {
  if (process.env.SYNCER_BENCH_CLI) return [process.env.SYNCER_BENCH_CLI]
  const binary = join(repoRoot, 'dist/image-syncer')
  return (await Bun.file(binary).exists()) ? [binary] : [process.execPath, join(repoRoot, 'src/cli.ts')]
}

/** Runs `command` to its end, timing it and sampling its peak RSS (MiB). */
export async function timedRun(command: string[], cwd: string): Promise<{seconds: number; peakMiB: number; code: number; stdout: string; stderr: string}> {
  const started = performance.now()
  const child = Bun.spawn(command, {stdout: 'pipe', stderr: 'pipe', cwd})
  const rss = watchPeakRss(child.pid)
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return {seconds: (performance.now() - started) / 1000, peakMiB: rss.stop(), code, stdout, stderr}
}

/**
 * The requests of a `--debug` run's stderr, counted and grouped by where (`source` when the host is
 * `sourceHost`, else `target`), method and kind (manifests, blobs, tags, referrers, uploads), with mean durations.
 */
export function requestBreakdown(stderr: string, sourceHost: string): {requests: number; breakdown: string} {
  const groups = new Map<string, {n: number; ms: number}>()
  let requests = 0
  for (const line of stderr.split('\n')) {
    const match = /^debug: (\w+) (\S+) .* (\d+)ms/.exec(line)
    if (!match) continue
    requests++
    const url = new URL(match[2]!)
    const where = url.host === sourceHost ? 'source' : 'target'
    const kind = /\/blobs\/uploads\//.test(url.pathname) ? 'uploads' : (/\/(manifests|blobs|tags|referrers)\//.exec(url.pathname)?.[1] ?? url.pathname)
    const key = `${where} ${match[1]} ${kind}`
    const group = groups.get(key) ?? {n: 0, ms: 0}
    groups.set(key, {n: group.n + 1, ms: group.ms + Number(match[3])})
  }
  const breakdown = [...groups]
    .sort((a, b) => b[1].n - a[1].n)
    .map(([k, g]) => `${k} ${g.n} (${(g.ms / g.n).toFixed(1)} ms)`)
    .join(', ')
  return {requests, breakdown}
}

export interface MeasuredRun {
  seconds: number
  /** User + system CPU of the child, when Bun could tell. */
  cpuSeconds: number | null
  peakMiB: number
  /** From --debug lines on stderr; 0 without --debug. */
  requests: number
  breakdown: string
}

/** Runs one CLI command as a child in `cwd`: wall time, CPU, peak RSS and its requests; throws unless it exits 0 or 2. */
export async function measuredRun(command: string[], cwd: string, sourceHost: string): Promise<MeasuredRun> {
  const started = performance.now()
  const child = Bun.spawn(command, {stdout: 'pipe', stderr: 'pipe', cwd})
  const rss = watchPeakRss(child.pid)
  const [, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  const peakMiB = rss.stop()
  const seconds = (performance.now() - started) / 1000
  if (code !== 0 && code !== 2) throw new Error(`${command.slice(-4).join(' ')} exited ${code}: ${err.slice(-2000)}`)
  const cpu = child.resourceUsage()?.cpuTime
  return {seconds, cpuSeconds: cpu ? Number(cpu.total) / 1e6 : null, peakMiB, ...requestBreakdown(err, sourceHost)}
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat: a registry's share of a run. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** The blobs of every image below the given tags, each digest once, with a repository that holds it. */
export async function uniqueBlobs(registry: {url: string}, entries: Array<{repo: string; tag: string}>): Promise<Map<string, {repo: string; size: number}>> {
  const unique = new Map<string, {repo: string; size: number}>()
  for (const e of entries)
    for (const m of await manifestsOf(registry, e.repo, e.tag)) for (const b of m) if (!unique.has(b.digest)) unique.set(b.digest, {repo: e.repo, size: b.size})
  return unique
}

/**
 * The practical limit of any copy: each blob streamed GET → PUT (POST, then one monolithic PUT), `streams` at once,
 * into repository `repo` of `to`, with nothing else (no manifests, no checks). Returns seconds and bytes.
 */
export async function rawStream(
  from: {url: string},
  to: {url: string},
  blobs: Map<string, {repo: string}>,
  streams: number,
  repo: string,
): Promise<{seconds: number; bytes: number}> {
  const started = performance.now()
  let bytes = 0
  await mapLimit([...blobs], streams, async ([digest, {repo: sourceRepo}]) => {
    const get = await fetch(`${from.url}/v2/${sourceRepo}/blobs/${digest}`)
    const post = await fetch(`${to.url}/v2/${repo}/blobs/uploads/`, {method: 'POST'})
    const location = new URL(post.headers.get('location')!, to.url)
    location.searchParams.set('digest', digest)
    const size = get.headers.get('content-length')!
    const put = await fetch(location, {method: 'PUT', body: get.body, headers: {'content-length': size, 'content-type': 'application/octet-stream'}})
    if (put.status !== 201) throw new Error(`raw PUT ${put.status}`)
    bytes += Number(size)
  })
  return {seconds: (performance.now() - started) / 1000, bytes}
}

/**
 * `skopeo sync --all` of the given tags from `from` (plain HTTP) into `<to.host>/mirror`, with its wall time and
 * peak RSS; null when skopeo is not installed. Throws with skopeo's words when it fails.
 */
export async function skopeoSync(
  from: {host: string},
  to: {host: string},
  entries: Array<{repo: string; tag: string}>,
  dir: string,
): Promise<{seconds: number; peakMiB: number} | null> {
  const skopeo = Bun.which('skopeo')
  if (!skopeo) return null
  const yaml = join(dir, 'skopeo.yaml')
  await Bun.write(yaml, `${from.host}:\n  tls-verify: false\n  images:\n${entries.map((e) => `    ${e.repo}: ["${e.tag}"]`).join('\n')}\n`)
  const run = await timedRun([skopeo, 'sync', '--all', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', yaml, `${to.host}/mirror`], dir)
  if (run.code !== 0) throw new Error(`skopeo sync failed (${run.code}): ${run.stderr.slice(-500)}`)
  return {seconds: run.seconds, peakMiB: run.peakMiB}
}
