/**
 * Benchmark (a script, not a test): how long `plan` takes for many entries against real registries on
 * loopback. Seeds N images (a quarter of them multi-platform indexes) into a source docker-registry, mirrors a
 * tenth of them into the target already, then plans all N and prints wall time, requests and peak RSS.
 *
 *   bun test/bench/plan.ts [N=1000]
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runPlan} from '../../src/plan/run.ts'
import {mapLimit} from '../../src/transport/limiter.ts'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {startRealRegistry} from '../support/real-registry.ts'
import {realPace} from '../../src/commands/pace.ts'

const n = Number(process.argv[2] ?? 1000)
const [source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
const dir = await mkdtemp(join(tmpdir(), 'image-syncer-bench-'))
try {
  const seedStart = performance.now()
  const platforms = [
    {os: 'linux', architecture: 'amd64'},
    {os: 'linux', architecture: 'arm64'},
  ]
  await mapLimit(
    Array.from({length: n}, (_, i) => i),
    16,
    async (i) => {
      const repo = `bench/app${i % 50}`
      const tag = `v${i}`
      if (i % 4 === 0) {
        const index = makeIndex({flavor: 'oci', platforms, layers: 1, layerSize: 64})
        await pushIndex(source.url, repo, index, tag)
        if (i % 10 === 0) await pushIndex(target.url, `mirror/${repo}`, index, tag)
      } else {
        const image = makeImage({flavor: 'docker', layers: 1, layerSize: 64})
        await pushImage(source.url, repo, image, tag)
        if (i % 10 === 0) await pushImage(target.url, `mirror/${repo}`, image, tag)
      }
    },
  )
  console.log(`seeded ${n} images in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`)

  const definitionPath = join(dir, 'bench.yaml')
  const lines = Array.from({length: n}, (_, i) => `- source: "bench/app${i % 50}:v${i}"`)
  await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${lines.join('\n')}\n`)

  let requests = 0
  let peakRss = process.memoryUsage.rss()
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20)
  const started = performance.now()
  const outcome = await runPlan({
    definitionPath,
    outputPath: join(dir, 'bench.plan.json'),
    registry: {insecureRegistries: [], mirrors: {'docker.io': source.url}, env: {}, onRequest: () => requests++, pace: realPace()},
    tool: {name: 'image-syncer', version: 'bench'},
  })
  const seconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  if (outcome.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(outcome.failures.slice(0, 3))}`)
  const s = outcome.plan.summary
  console.log(
    `plan of ${n} entries: ${seconds.toFixed(2)} s wall, ${requests} requests (${(requests / seconds).toFixed(0)}/s), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  )
  console.log(`  ${s.toCopy} to copy, ${s.alreadyPresent} already present, ${s.conflicting} conflicting`)
} finally {
  await Promise.all([source.stop(), target.stop()])
  await rm(dir, {recursive: true, force: true})
}
