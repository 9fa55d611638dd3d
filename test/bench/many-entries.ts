/**
 * Benchmark (a script, not a test) of issue 11's "10,000 entries" and issue 18's "planning at scale": a generated
 * definition of N entries (a quarter of them multi-platform indexes) spread over R repositories of a real
 * docker-registry source on loopback, run as the CLI (a child process, so CPU and peak RSS are its own: its
 * rusage and VmHWM, never the registries'):
 *   (a) `plan` into an empty target: our CPU and peak RSS, then again with --debug for the requests per entry;
 *   (b) the target seeded with everything directly (faster than an apply, same result), then a warm `sync`;
 *   (c) the all-present plan: file size, `apply` of it from process start to exit (it copies nothing), and
 *       in-process readPlanFile (read + JSON.parse + schema check).
 * For (a) and (b) the same requests are sent again by bare fetch (fetch-floor.ts): our CPU is printed as a ratio
 * to that floor. Goals (issue 18): (a) ≤ 6 s CPU and ≤ 200 MiB, (b) ≤ 6 s CPU. Registries share the machine's cores,
 * so wall time is printed but is not the figure.
 *
 *   bun test/bench/many-entries.ts [--entries 10000] [--repos 200] [--parts abc] [--baseline BIN] [--profile DIR] [-- extra plan/sync flags]
 *
 * --parts: which of (a), (b), (c) to run. --baseline BIN: each step is run by BIN first, then by ours. --profile DIR: each run from source writes a Markdown CPU
 * profile into DIR (bun --cpu-prof-md).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {registryPathComponent} from '../../src/ref/target.ts'
import {mapLimit} from '../../src/transport/limiter.ts'
import {pushBlob, putManifest} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {blob, cpuSecondsOf, json, type Manifest, requestBreakdown, cliCommand, watchPeakRss} from './support.ts'
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'

const args = process.argv.slice(2)
const dashes = args.indexOf('--')
const extra = dashes >= 0 ? args.slice(dashes + 1) : []
const own = dashes >= 0 ? args.slice(0, dashes) : args
const option = (name: string, fallback: number) => (own.includes(name) ? Number(own[own.indexOf(name) + 1]) || fallback : fallback)
const count = option('--entries', 10_000)
const repos = option('--repos', 200)
const profile = own.includes('--profile') ? own[own.indexOf('--profile') + 1] : undefined
/** Another binary (e.g. built from an older commit) run right before ours on each step, for a before/after on one machine state. */
const baseline = own.includes('--baseline') ? own[own.indexOf('--baseline') + 1] : undefined
const parts = own.includes('--parts') ? (own[own.indexOf('--parts') + 1] ?? 'abc') : 'abc'
const syncer = await cliCommand()
// Only Bun running the source takes profiler flags (before the script); the compiled binary does not.
const cli = profile && syncer.length === 2 ? [syncer[0]!, '--cpu-prof-md', `--cpu-prof-dir=${profile}`, syncer[1]!] : syncer

const [source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
const dir = await mkdtemp(join(tmpdir(), 'image-syncer-bench-many-'))
try {
  // ---- seed: one config per architecture and one tiny layer, shared by every image; manifests differ by an annotation ----
  const layer = blob(new TextEncoder().encode('layer'))
  const configs = Object.fromEntries(
    ['amd64', 'arm64'].map((arch) => [
      arch,
      blob(json({os: 'linux', architecture: arch, rootfs: {type: 'layers', diff_ids: [layer.digest]}}), MediaType.OciConfig),
    ]),
  )
  const descriptor = (b: {digest: string; bytes: Uint8Array; mediaType: string}) => ({mediaType: b.mediaType, digest: b.digest, size: b.bytes.byteLength})
  const manifest = (value: unknown, mediaType: string): Manifest => {
    const bytes = json(value)
    return {bytes, digest: sha256Digest(bytes), mediaType, blobs: []}
  }
  const imageOf = (arch: string, entry: number) =>
    manifest(
      {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: descriptor(configs[arch]!),
        layers: [descriptor(layer)],
        annotations: {'bench.entry': String(entry)},
      },
      MediaType.OciManifest,
    )
  const entries = Array.from({length: count}, (_, i) => ({repo: `bench/app${i % repos}`, tag: `t${i}`, multi: i % 4 === 0, i}))
  /** Every manifest of entry i, children first, the tagged one last. */
  const manifestsOf = (e: (typeof entries)[number]): Manifest[] => {
    if (!e.multi) return [imageOf('amd64', e.i)]
    const children = ['amd64', 'arm64'].map((arch) => ({arch, m: imageOf(arch, e.i)}))
    return [
      ...children.map((c) => c.m),
      manifest(
        {
          schemaVersion: 2,
          mediaType: MediaType.OciIndex,
          manifests: children.map((c) => ({...descriptor(c.m), platform: {os: 'linux', architecture: c.arch}})),
        },
        MediaType.OciIndex,
      ),
    ]
  }
  /** Pushes every entry into `registry`, each repository named by `repoOf`. */
  async function seed(registry: RealRegistry, repoOf: (repo: string) => string): Promise<number> {
    const started = performance.now()
    await mapLimit(
      Array.from({length: repos}, (_, r) => repoOf(`bench/app${r}`)),
      16,
      async (repo) => {
        for (const b of [layer, ...Object.values(configs)]) await pushBlob(registry.url, repo, b)
      },
    )
    await mapLimit(entries, 32, async (e) => {
      const all = manifestsOf(e)
      for (const [k, m] of all.entries()) await putManifest(registry.url, repoOf(e.repo), k === all.length - 1 ? e.tag : m.digest, m.bytes, m.mediaType)
    })
    return (performance.now() - started) / 1000
  }
  const seeded = await seed(source, (r) => r)
  console.log(
    `seeded ${count} entries (${entries.filter((e) => e.multi).length} indexes) in ${repos} repositories in ${seeded.toFixed(1)} s; running ${cli.join(' ')} ${extra.join(' ')}`,
  )

  const definition = join(dir, 'many.yaml')
  await writeFile(
    definition,
    `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${entries.map((e) => `- source: "${source.host}/${e.repo}:${e.tag}"`).join('\n')}\n`,
  )

  interface Figures {
    cpu: number
    peakMiB: number
    requests: number
    floor: number | null
  }

  /**
   * One step, measured as users run it (no --debug: its log line per request costs CPU of its own); when `counted`,
   * run again with --debug for the requests by kind and the CPU of sending those requests with bare fetch.
   */
  async function run(label: string, argv: string[], counted = true): Promise<Figures> {
    if (baseline) await measuredStep([baseline], `${label} [baseline]`, argv, counted)
    return measuredStep(cli, label, argv, counted)
  }

  async function measuredStep(cli: string[], label: string, argv: string[], counted: boolean): Promise<Figures> {
    const plain = await once(cli, argv)
    console.log(`${label}: ${plain.cpu.toFixed(2)} s CPU, peak RSS ${plain.peakMiB.toFixed(0)} MiB, ${plain.seconds.toFixed(1)} s wall`)
    console.log(`    CPU by thread (sampled): ${plain.byThread}`)
    if (!counted) return {cpu: plain.cpu, peakMiB: plain.peakMiB, requests: 0, floor: null}
    const debug = await once(cli, [...argv, '--debug'])
    const {requests, breakdown} = requestBreakdown(debug.stderr, source.host)
    const floor = await fetchFloor(debug.stderr)
    console.log(
      `    = ${(plain.cpu / floor).toFixed(2)}× the CPU of bare fetch sending the same requests (${floor.toFixed(2)} s); with --debug ${debug.cpu.toFixed(2)} s`,
    )
    console.log(`    ${requests} requests (${(requests / count).toFixed(2)} per entry): ${breakdown}`)
    // On a busy machine the registries' CPU next to ours tells whether the run waited on them.
    const [sourceCpu, targetCpu] = debug.registryCpu
    console.log(
      `    registry CPU during the --debug run: source ${sourceCpu!.toFixed(2)} s, target ${targetCpu!.toFixed(2)} s; load average ${loadavg()[0]!.toFixed(1)}`,
    )
    return {cpu: plain.cpu, peakMiB: plain.peakMiB, requests, floor}
  }

  /** One CLI process: its CPU (rusage), peak RSS, CPU by thread, wall time, stderr, and the registries' CPU meanwhile. */
  let runs = 0
  async function once(cli: string[], argv: string[]) {
    const registries = () => [source, target].map((r) => cpuSecondsOf(r.pid))
    const before = registries()
    // stderr to a file: a pipe the busy bench drains late blocks the child's writes. One file per run: Bun.file as
    // stderr does not truncate, so a shorter log would keep the last one's tail.
    const log = join(dir, `stderr-${++runs}.log`)
    const started = performance.now()
    const child = Bun.spawn([...cli, ...argv], {stdout: 'pipe', stderr: Bun.file(log), cwd: dir})
    const rss = watchPeakRss(child.pid)
    const threads = watchThreads(child.pid)
    const [, code] = await Promise.all([new Response(child.stdout).text(), child.exited])
    const peakMiB = rss.stop()
    const byThread = threads.stop()
    const seconds = (performance.now() - started) / 1000
    const stderr = await readFile(log, 'utf8')
    if (code !== 0 && code !== 2) throw new Error(`${argv.slice(0, 4).join(' ')} exited ${code}: ${stderr.slice(-2000)}`)
    const cpu = Number(child.resourceUsage()!.cpuTime.total) / 1e6
    const registryCpu = registries().map((after, i) => after - before[i]!)
    return {cpu, peakMiB, byThread, seconds, stderr, registryCpu}
  }

  /** The CPU of the requests of a --debug log sent again with bare fetch, by a process of its own. */
  async function fetchFloor(debugLog: string): Promise<number> {
    const list = join(dir, 'requests.txt')
    const lines = [...debugLog.matchAll(/^debug: (\w+) (\S+) \d{3} /gm)].map((m) => `${m[1]} ${m[2]}`)
    await writeFile(list, `${lines.join('\n')}\n`)
    const child = Bun.spawn([process.execPath, join(import.meta.dir, 'fetch-floor.ts'), list], {stdout: 'pipe', stderr: 'inherit'})
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited])
    if (code !== 0) throw new Error(`fetch-floor exited ${code}`)
    const {failed} = JSON.parse(out) as {failed: number}
    if (failed) console.log(`    (${failed} of the replayed requests failed)`)
    return Number(child.resourceUsage()!.cpuTime.total) / 1e6
  }

  // (a) plan into an empty target.
  const coldPlan = join(dir, 'cold.plan.json')
  const cold = await run(`(a) plan, ${count} entries, empty target`, ['plan', '-i', definition, '-o', coldPlan, ...extra])
  console.log(`    plan file ${((await stat(coldPlan)).size / 2 ** 20).toFixed(1)} MiB`)

  // (b) everything at the target, then a warm one-shot run.
  const warm = parts.includes('b') ? await warmSync() : null
  async function warmSync(): Promise<Figures> {
    const mirrored = await seed(target, (r) => `mirror/${registryPathComponent(source.host)}/${r}`)
    console.log(`seeded the target directly in ${mirrored.toFixed(1)} s`)
    return run('(b) sync, warm (everything present)', ['sync', '-i', definition, '--quiet', ...extra])
  }

  // (c) the all-present plan: its size, apply end to end, and the read + validate alone.
  if (warm && parts.includes('c')) {
    const warmPlan = join(dir, 'warm.plan.json')
    await run('    plan, warm (for (c))', ['plan', '-i', definition, '-o', warmPlan, ...extra], false)
    console.log(`(c) all-present plan file: ${((await stat(warmPlan)).size / 2 ** 20).toFixed(1)} MiB`)
    await run('    apply of it (process start to exit, copies nothing)', ['apply', warmPlan, '--quiet'], false)
    const reads: number[] = []
    for (let k = 0; k < 5; k++) {
      const started = performance.now()
      await readPlan(warmPlan)
      reads.push(performance.now() - started)
    }
    console.log(`    readPlanFile in-process: first ${reads[0]!.toFixed(0)} ms, then median ${[...reads.slice(1)].sort((a, b) => a - b)[2]!.toFixed(0)} ms`)
  }

  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met')
  console.log(`\nfigures (${count} entries):`)
  console.log(
    `  cold plan: ${cold.cpu.toFixed(2)} s CPU (goal ≤ 6 s: ${verdict(cold.cpu <= 6)}), ${cold.peakMiB.toFixed(0)} MiB peak (goal ≤ 200: ${verdict(cold.peakMiB <= 200)}), ${(cold.requests / count).toFixed(2)} requests per entry, ${(cold.cpu / cold.floor!).toFixed(2)}× bare fetch`,
  )
  if (warm)
    console.log(
      `  warm sync: ${warm.cpu.toFixed(2)} s CPU (goal ≤ 6 s: ${verdict(warm.cpu <= 6)}), ${warm.peakMiB.toFixed(0)} MiB peak, ${(warm.requests / count).toFixed(2)} requests per entry, ${(warm.cpu / warm.floor!).toFixed(2)}× bare fetch`,
    )
} finally {
  await Promise.all([source.stop(), target.stop()])
  await rm(dir, {recursive: true, force: true})
}

/**
 * CPU by thread of a running child, from /proc/<pid>/task/<tid>/stat, sampled until it exits: what the JS profile
 * does not show (Bun's HTTP client thread, the garbage collector's helpers). Threads are grouped by name.
 */
function watchThreads(pid: number): {stop(): string} {
  const last = new Map<string, {name: string; seconds: number}>()
  const sample = () => {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, 'N')
        const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
        last.set(tid, {name, seconds: (Number(fields[11]) + Number(fields[12])) / 100})
      }
    } catch {
      // The process (or a thread) has exited.
    }
  }
  const timer = setInterval(sample, 50)
  return {
    stop() {
      clearInterval(timer)
      const byName = new Map<string, number>()
      for (const {name, seconds} of last.values()) byName.set(name, (byName.get(name) ?? 0) + seconds)
      return [...byName]
        .sort((a, b) => b[1] - a[1])
        .filter(([, seconds]) => seconds >= 0.05)
        .map(([name, seconds]) => `${name} ${seconds.toFixed(2)} s`)
        .join(', ')
    },
  }
}
