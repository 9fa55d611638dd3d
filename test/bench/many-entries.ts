/**
 * Benchmark (a script, not a test) of issue 11's "10,000 entries": a generated definition of N entries (a
 * quarter of them multi-platform indexes) spread over R repositories of a real docker-registry source on
 * loopback, run as the CLI (a child process, so peak RSS is its own VmHWM):
 *   (a) `plan` into an empty target: wall time, peak RSS, requests (from --debug);
 *   (b) the target seeded with everything directly (faster than an apply, same result), then a warm `sync`;
 *   (c) the all-present plan: file size, `apply` of it from process start to exit (it copies nothing), and
 *       in-process readPlanFile (read + JSON.parse + schema check).
 * Targets: plan < 30 s and < 400 MB, warm sync < 60 s, apply's read < 1 s.
 *
 *   bun test/bench/many-entries.ts [--entries 10000] [--repos 200] [--profile DIR] [-- extra plan/sync flags]
 *
 * --profile DIR: each run from source writes a Markdown CPU profile into DIR (bun --cpu-prof-md).
 */
import {mkdtemp, rm, stat, writeFile} from 'node:fs/promises'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {registryPathComponent} from '../../src/ref/target.ts'
import {mapLimit} from '../../src/transport/limiter.ts'
import {pushBlob, putManifest} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {blob, cpuSecondsOf, json, type Manifest, measuredRun, cliCommand} from './support.ts'
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

  /** One CLI run: wall time, CPU, peak RSS, and requests by kind when --debug. */
  async function run(label: string, argv: string[]): Promise<void> {
    const registries = () => [source, target].map((r) => cpuSecondsOf(r.pid))
    const before = registries()
    const {seconds, cpuSeconds, peakMiB, requests, breakdown} = await measuredRun([...cli, ...argv], dir, source.host)
    const [sourceCpu, targetCpu] = registries().map((after, i) => after - before[i]!)
    const cpu = cpuSeconds !== null ? `, ${cpuSeconds.toFixed(2)} s CPU` : ''
    const requestPart = requests ? `, ${requests} requests (${(requests / count).toFixed(2)} per entry)\n    ${breakdown}` : ''
    console.log(`${label}: ${seconds.toFixed(2)} s wall${cpu}, peak RSS ${peakMiB.toFixed(0)} MiB${requestPart}`)
    // On a busy machine the registries' CPU next to ours tells whether the run waited on them.
    if (requests)
      console.log(`    registry CPU during it: source ${sourceCpu!.toFixed(2)} s, target ${targetCpu!.toFixed(2)} s; load average ${loadavg()[0]!.toFixed(1)}`)
  }

  // (a) plan into an empty target.
  const coldPlan = join(dir, 'cold.plan.json')
  await run(`(a) plan, ${count} entries, empty target`, ['plan', '-i', definition, '-o', coldPlan, '--debug', ...extra])
  console.log(`    plan file ${((await stat(coldPlan)).size / 2 ** 20).toFixed(1)} MiB`)

  // (b) everything at the target, then a warm one-shot run.
  const mirrored = await seed(target, (r) => `mirror/${registryPathComponent(source.host)}/${r}`)
  console.log(`seeded the target directly in ${mirrored.toFixed(1)} s`)
  await run('(b) sync, warm (everything present)', ['sync', '-i', definition, '--quiet', '--debug', ...extra])

  // (c) the all-present plan: its size, apply end to end, and the read + validate alone.
  const warmPlan = join(dir, 'warm.plan.json')
  await run('    plan, warm (for (c))', ['plan', '-i', definition, '-o', warmPlan, ...extra])
  console.log(`(c) all-present plan file: ${((await stat(warmPlan)).size / 2 ** 20).toFixed(1)} MiB`)
  await run('    apply of it (process start to exit, copies nothing)', ['apply', warmPlan, '--quiet'])
  const reads: number[] = []
  for (let k = 0; k < 5; k++) {
    const started = performance.now()
    await readPlan(warmPlan)
    reads.push(performance.now() - started)
  }
  console.log(`    readPlanFile in-process: first ${reads[0]!.toFixed(0)} ms, then median ${[...reads.slice(1)].sort((a, b) => a - b)[2]!.toFixed(0)} ms`)
} finally {
  await Promise.all([source.stop(), target.stop()])
  await rm(dir, {recursive: true, force: true})
}
