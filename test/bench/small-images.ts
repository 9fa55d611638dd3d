/**
 * Benchmark (a script, not a test) of the per-entry cost: a one-shot `sync` of 60 small images (half of them
 * amd64 + arm64 indexes, all sharing a base layer per architecture, ~1 MB each) into empty targets, against real
 * docker-registry processes, side by side with the baseline (baseline.ts: the least work a complete copy can do)
 * on loopback and behind a latency proxy at each RTT given (side-by-side.ts), then `skopeo sync --all` on loopback.
 * `--breakdown` adds where the requests of one loopback run go (by phase, method and kind) and a warm re-run.
 *
 *   bun test/bench/small-images.ts [--images 60] [--rtt 0,10,50] [--rounds 3] [--breakdown] [--skip-skopeo] [-- extra sync flags]
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {mapLimit} from '../../src/transport/limiter.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {printFigures, sideBySide} from './side-by-side.ts'
import {blob, cliCommand, cpuSecondsOf, image, index, MB, measuredRun, push, randomBytes, rawStream, skopeoSync, uniqueBlobs} from './support.ts'

const args = process.argv.slice(2)
const dashes = args.indexOf('--')
const extra = dashes >= 0 ? args.slice(dashes + 1) : []
const own = dashes >= 0 ? args.slice(0, dashes) : args
const count = Number(own[own.indexOf('--images') + 1] || 60) || 60
const skipSkopeo = own.includes('--skip-skopeo')
const rtts = own.includes('--rtt') ? own[own.indexOf('--rtt') + 1]!.split(',').map(Number) : [0, 10, 50]
const rounds = Number(own[own.indexOf('--rounds') + 1] || 3) || 3
const breakdown = own.includes('--breakdown')
const KB = 1_000
const cli = await cliCommand()

type Server = RealRegistry
const server = startRealRegistry
const [source, target, warmTarget, rawTarget, skopeoTarget] = [await server(), await server(), await server(), await server(), await server()]
const dir = await mkdtemp(join(tmpdir(), 'image-syncer-bench-small-'))
try {
  const base = {amd64: blob(randomBytes(600 * KB)), arm64: blob(randomBytes(600 * KB))}
  const entries: Array<{repo: string; tag: string}> = []
  await mapLimit(
    Array.from({length: count}, (_, i) => i),
    8,
    async (i) => {
      const repo = `small/app${i}`
      if (i % 2 === 0) {
        const children = (['amd64', 'arm64'] as const).map((arch) => ({arch, manifest: image(arch, [base[arch], blob(randomBytes(200 * KB))])}))
        await push(
          source,
          repo,
          '1.0',
          children.map((c) => c.manifest),
          index(children),
        )
      } else {
        await push(source, repo, '1.0', [image('amd64', [base.amd64, blob(randomBytes(400 * KB))])])
      }
      entries.push({repo, tag: '1.0'})
    },
  )
  entries.sort((a, b) => a.repo.localeCompare(b.repo))
  console.log(`seeded ${entries.length} images (${entries.length / 2} indexes) on ${source.host}; running ${cli.join(' ')} ${extra.join(' ')}`)
  const figures = await sideBySide({source, target: rawTarget, entries, cli, dir, rtts, rounds, flags: extra})
  printFigures(`${entries.length} small images`, figures, 1.2)

  const definition = async (name: string, registry: Server) => {
    const path = join(dir, `${name}.yaml`)
    await writeFile(
      path,
      `targetRepoPrefix: "${registry.host}/mirror/"\nimages:\n${entries.map((e) => `- source: "${source.host}/${e.repo}:${e.tag}"`).join('\n')}\n`,
    )
    return path
  }

  /** One CLI run with --debug: wall time, peak RSS, and its requests grouped by method and kind. */
  async function run(label: string, argv: string[]): Promise<{seconds: number; requests: number}> {
    // plan prints no progress and copies nothing, so it takes neither --quiet nor the copy flags.
    const flags = argv[0] === 'plan' ? ['--debug'] : ['--debug', '--quiet', ...extra]
    const {seconds, cpuSeconds, peakMiB, requests, breakdown} = await measuredRun([...cli, ...argv, ...flags], dir, source.host)
    const cpu = cpuSeconds !== null ? `, ${cpuSeconds.toFixed(2)} s CPU` : ''
    console.log(
      `${label}: ${seconds.toFixed(2)} s${cpu}, peak RSS ${peakMiB.toFixed(0)} MiB, ${requests} requests (${(requests / entries.length).toFixed(1)} per entry; mean duration in brackets)\n    ${breakdown}`,
    )
    return {seconds, requests}
  }

  if (breakdown) await details()
  const skopeo = skipSkopeo ? null : await skopeoSync(source, skopeoTarget, entries, dir)
  if (skopeo) {
    const loopback = figures.find((f) => f.rtt === 0)
    console.log(
      `skopeo sync --all (loopback): ${skopeo.seconds.toFixed(2)} s, peak RSS ${skopeo.peakMiB.toFixed(0)} MiB${loopback ? `; one-shot sync / skopeo: ${(loopback.syncSeconds / skopeo.seconds).toFixed(2)}×` : ''}`,
    )
  } else console.log(skipSkopeo ? 'skopeo: skipped' : 'skopeo: not installed (apt-get install -y skopeo to compare)')

  async function details(): Promise<void> {
    const cpuBefore = registryCpu(source, target)
    const oneShot = await run('image-syncer sync (one-shot, empty target)', ['sync', '-i', await definition('sync', target)])
    printCpu(cpuBefore, registryCpu(source, target))
    await run('image-syncer sync (warm: everything present)', ['sync', '-i', await definition('sync', target)])
    // Phases, on another empty target: plan alone, then apply alone.
    const planPath = join(dir, 'phases.plan.json')
    await run('  phase: plan', ['plan', '-i', await definition('phases', warmTarget), '-o', planPath])
    await run('  phase: apply', ['apply', planPath])

    // ---- raw stream of the same unique blobs: the practical limit, 8 at once (and as many as our transfers) ----
    const unique = await uniqueBlobs(source, entries)
    for (const streams of [8, 16]) {
      const rawCpuBefore = registryCpu(source, rawTarget)
      const {seconds, bytes: rawBytes} = await rawStream(source, rawTarget, unique, streams, `raw${streams}`)
      console.log(`raw GET → PUT stream (${unique.size} unique blobs, ${(rawBytes / MB).toFixed(1)} MB, ${streams} at once): ${seconds.toFixed(2)} s`)
      printCpu(rawCpuBefore, registryCpu(source, rawTarget))
      console.log(`ratio one-shot sync / raw stream (${streams} at once): ${(oneShot.seconds / seconds).toFixed(2)}×`)
    }
  }
} finally {
  await Promise.all([source, target, warmTarget, rawTarget, skopeoTarget].map((r) => r.stop()))
  await rm(dir, {recursive: true, force: true})
}

/** CPU seconds (user + system) the registry processes have used so far; empty for in-process registries. */
function registryCpu(...servers: Server[]): number[] {
  return servers.flatMap((r) => (r.pid === undefined ? [] : [cpuSecondsOf(r.pid)]))
}

function printCpu(before: number[], after: number[]): void {
  if (before.length === 2)
    console.log(`    registry CPU during it: source ${(after[0]! - before[0]!).toFixed(2)} s, target ${(after[1]! - before[1]!).toFixed(2)} s`)
}
