/**
 * Benchmark (a script, not a test) of `apply` into an empty target, against real docker-registry processes on
 * loopback, compared with the practical limit (a raw GET → PUT stream of the same unique blobs) and, when
 * installed, with `skopeo sync --all`; then the two halves of the air-gap workflow: the same set applied into an
 * OCI layout tree (`oci:DIR/`), and from that tree into another registry. Prints wall time, throughput, peak
 * RSS and request counts.
 *
 *   bun test/bench/apply.ts [--large-mb 300] [--skip-skopeo]
 *
 * The set: 8 multi-platform indexes (amd64 + arm64) sharing two 30 MB base layers, 8 single manifests sharing
 * the amd64 base, and one image with one large layer.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startRealRegistry} from '../support/real-registry.ts'
import {blob, cliCommand, image, index, MB, push, randomBytes, rawStream, skopeoSync, uniqueBlobs, watchPeakRss} from './support.ts'

const args = process.argv.slice(2)
const largeMb = Number(args[args.indexOf('--large-mb') + 1] || 300) || 300
const skipSkopeo = args.includes('--skip-skopeo')

const [source, target, rawTarget, skopeoTarget, layoutTarget] = await Promise.all([
  startRealRegistry(),
  startRealRegistry(),
  startRealRegistry(),
  startRealRegistry(),
  startRealRegistry(),
])
const dir = await mkdtemp(join(tmpdir(), 'image-syncer-bench-'))
try {
  // ---- seed ----
  const seedStart = performance.now()
  const base = {amd64: blob(randomBytes(30 * MB)), arm64: blob(randomBytes(30 * MB))}
  const entries: Array<{repo: string; tag: string}> = []
  for (let i = 0; i < 8; i++) {
    const children = (['amd64', 'arm64'] as const).map((arch) => image(arch, [base[arch], blob(randomBytes(4 * MB))]))
    await push(
      source,
      `bench/multi${i}`,
      '1.0',
      children,
      index([
        {arch: 'amd64', manifest: children[0]!},
        {arch: 'arm64', manifest: children[1]!},
      ]),
    )
    entries.push({repo: `bench/multi${i}`, tag: '1.0'})
  }
  for (let i = 0; i < 8; i++) {
    await push(source, `bench/single${i}`, '1.0', [image('amd64', [base.amd64, blob(randomBytes(8 * MB))])])
    entries.push({repo: `bench/single${i}`, tag: '1.0'})
  }
  await push(source, 'bench/large', '1.0', [image('amd64', [blob(randomBytes(largeMb * MB))])])
  entries.push({repo: 'bench/large', tag: '1.0'})
  console.log(`seeded ${entries.length} images in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`)

  // ---- image-syncer: plan, then apply (timed) as the real CLI: registry → registry, → layout, layout → registry ----
  // The standalone binary is what ops run (and starts in ~40 ms instead of ~200 ms from source).
  const cli = await cliCommand()
  console.log(`running ${cli.join(' ')}${process.env.SYNCER_CONCURRENCY ? ` with SYNCER_CONCURRENCY=${process.env.SYNCER_CONCURRENCY}` : ''}`)
  const sources = entries.map((e) => `- source: "${source.host}/${e.repo}:${e.tag}"`).join('\n')
  /** Plans `prefix` with `flags`, then times the apply of that plan; returns its wall time. */
  async function timedApply(label: string, prefix: string, flags: string[]): Promise<number> {
    const definition = join(dir, `${label}.yaml`)
    await writeFile(definition, `targetRepoPrefix: "${prefix}"\nimages:\n${sources}\n`)
    const planPath = join(dir, `${label}.plan.json`)
    const plan = Bun.spawnSync([...cli, 'plan', '-i', definition, '-o', planPath, '--detailed-exitcode', ...flags], {
      stdout: 'ignore',
      stderr: 'pipe',
      cwd: dir,
    })
    if (plan.exitCode !== 2) throw new Error(`plan exited ${plan.exitCode}: ${plan.stderr}`)
    const started = performance.now()
    const apply = Bun.spawn([...cli, 'apply', planPath, '--format', 'json', '--debug', '--quiet', ...flags], {stdout: 'pipe', stderr: 'pipe', cwd: dir})
    const applyRss = watchPeakRss(apply.pid)
    const [out, err, code] = await Promise.all([new Response(apply.stdout).text(), new Response(apply.stderr).text(), apply.exited])
    const applyPeak = applyRss.stop()
    const seconds = (performance.now() - started) / 1000
    if (code !== 0) throw new Error(`apply exited ${code}: ${err.slice(-2000)}`)
    const result = JSON.parse(out)
    const requests = err.split('\n').filter((l) => l.startsWith('debug: ')).length
    const bytes: number = result.summary.bytes
    const mounted = result.entries.reduce((n: number, e: {blobs: {mounted: number}}) => n + e.blobs.mounted, 0)
    console.log(
      `image-syncer apply ${label}: ${seconds.toFixed(2)} s, ${(bytes / MB).toFixed(0)} MB written, ${(bytes / MB / seconds).toFixed(0)} MB/s, peak RSS ${applyPeak.toFixed(0)} MiB, ${requests} requests, ${mounted} blobs mounted`,
    )
    return seconds
  }
  const applySeconds = await timedApply('registry → registry', `${target.host}/mirror/`, [])
  await timedApply('registry → layout', 'oci:./layout/', [])
  await timedApply('layout → registry', `${layoutTarget.host}/mirror/`, ['--mirror', `${source.host}=oci:./layout/`])

  // ---- raw stream of the same unique blobs: the practical limit ----
  const unique = await uniqueBlobs(source, entries)
  const {seconds: rawSeconds, bytes: rawBytes} = await rawStream(source, rawTarget, unique, 8, 'raw')
  console.log(
    `raw stream (same ${unique.size} unique blobs): ${rawSeconds.toFixed(2)} s, ${(rawBytes / MB).toFixed(0)} MB, ${(rawBytes / MB / rawSeconds).toFixed(0)} MB/s`,
  )
  console.log(`image-syncer / raw stream: ${((rawSeconds / applySeconds) * 100).toFixed(0)}% of the raw throughput (time ratio raw/apply)`)

  // ---- skopeo sync --all, when installed ----
  const skopeo = skipSkopeo ? null : await skopeoSync(source, skopeoTarget, entries, dir)
  if (skopeo)
    console.log(
      `skopeo sync --all: ${skopeo.seconds.toFixed(2)} s, peak RSS ${skopeo.peakMiB.toFixed(0)} MiB; image-syncer took ${((applySeconds / skopeo.seconds) * 100).toFixed(0)}% of skopeo's time`,
    )
  else console.log(skipSkopeo ? 'skopeo: skipped' : 'skopeo: not installed (apt-get install -y skopeo to compare)')
} finally {
  await Promise.all([source, target, rawTarget, skopeoTarget, layoutTarget].map((r) => r.stop()))
  await rm(dir, {recursive: true, force: true})
}
