/**
 * Benchmark (a script, not a test) of a registry that throttles by load: the source is the in-process fake,
 * answering 429 + Retry-After to any request beyond `--limit` in flight, each served request held `--service-ms`.
 * A one-shot `sync` (plan, then apply on the same connections) of `--images` small images, through the library on
 * the real pace (real sleeps, the default retries), once with the adaptive per-registry limit (the default) and
 * once with the fixed limit it replaced, alternated over `--rounds`; prints the source's 429s, what it served, the
 * entries copied or failed and the wall time, side by side, and the medians.
 *
 *   bun test/bench/throttle.ts [--images 40] [--limit 4] [--retry-after 1] [--service-ms 5] [--rounds 3] [--ceiling 32]
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {realPace} from '../../src/commands/pace.ts'
import {runSync} from '../../src/sync/run.ts'
import {mapLimit} from '../../src/transport/limiter.ts'
import type {HostConcurrency} from '../../src/transport/transport.ts'
import {concurrencyLimit, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, pushImage} from '../support/images.ts'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback)
const images = option('--images', 40)
const limit = option('--limit', 4)
const retryAfterSeconds = option('--retry-after', 1)
const serviceMs = option('--service-ms', 5)
const rounds = option('--rounds', 3)
const ceiling = option('--ceiling', 32)

interface Figures {
  throttled: number
  served: number
  copied: number
  failed: number
  seconds: number
}

async function run(hostConcurrency: HostConcurrency): Promise<Figures> {
  const [source, target] = [await startFakeRegistry(), await startFakeRegistry()]
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-bench-throttle-'))
  try {
    await mapLimit(
      Array.from({length: images}, (_, i) => i),
      8,
      (i) => pushImage(source.url, `acme/app${i}`, makeImage({flavor: 'oci', seed: `bench-throttle-${i}`, layerSize: 64 * 1024}), '1'),
    )
    const fault = concurrencyLimit({limit, retryAfterSeconds, serviceMs})
    source.addFault(fault)
    await writeFile(join(dir, 'config.json'), '{}')
    const definitionPath = join(dir, 'images.yaml')
    const entries = Array.from({length: images}, (_, i) => `- source: "${source.host}/acme/app${i}:1"`)
    await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${entries.join('\n')}\n`)
    const registry = {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: realPace(), hostConcurrency, maxConcurrentPerHost: ceiling}
    const started = performance.now()
    const outcome = await runSync({definitionPath, registry, tool: {name: 'image-syncer', version: 'bench'}, dryRun: false})
    const seconds = (performance.now() - started) / 1000
    const {throttled, served} = fault.state
    if (outcome.kind === 'unclassified') return {throttled, served, copied: 0, failed: outcome.failures.length, seconds}
    if (outcome.apply.kind !== 'applied') throw new Error(`not applied: ${outcome.apply.kind}`)
    const results = outcome.apply.result.entries
    const count = (kind: string) => results.filter((e) => e.result.kind === kind).length
    return {throttled, served, copied: count('copied'), failed: count('failed'), seconds}
  } finally {
    await Promise.all([source.stop(), target.stop()])
    await rm(dir, {recursive: true, force: true})
  }
}

const line = (label: string, f: Figures) =>
  `${label.padEnd(9)} 429s ${String(f.throttled).padStart(5)}  served ${String(f.served).padStart(4)}  copied ${String(f.copied).padStart(3)}/${images}${f.failed ? ` (${f.failed} failed${f.copied === 0 ? ' to plan' : ''})` : ''}  ${f.seconds.toFixed(2)} s`
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

console.log(
  `${images} images from a source that answers 429 + Retry-After: ${retryAfterSeconds} beyond ${limit} requests in flight (${serviceMs} ms each); --requests-per-registry ${ceiling}; ${rounds} rounds`,
)
// One unmeasured run of each first: the first sync of a process pays for compiling the code it runs.
for (const mode of ['adaptive', 'fixed'] as const) await run(mode)
const results: Record<HostConcurrency, Figures[]> = {adaptive: [], fixed: []}
for (let round = 1; round <= rounds; round++) {
  // Alternated, the first mode changing each round, so neither always runs on a warmer process.
  const order: HostConcurrency[] = round % 2 === 1 ? ['adaptive', 'fixed'] : ['fixed', 'adaptive']
  for (const mode of order) {
    const figures = await run(mode)
    results[mode].push(figures)
    console.log(`round ${round} ${line(mode, figures)}`)
  }
}
const adaptive = results.adaptive
const fixed = results.fixed
const ratios = (pick: (f: Figures) => number) => median(adaptive.map((a, i) => pick(a) / Math.max(pick(fixed[i]!), 1e-9)))
console.log(
  `median    429s adaptive ${median(adaptive.map((f) => f.throttled))} vs fixed ${median(fixed.map((f) => f.throttled))} (${ratios((f) => f.throttled).toFixed(2)}×); ` +
    `wall adaptive ${median(adaptive.map((f) => f.seconds)).toFixed(2)} s vs fixed ${median(fixed.map((f) => f.seconds)).toFixed(2)} s (${ratios((f) => f.seconds).toFixed(2)}×)`,
)
