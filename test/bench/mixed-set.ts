/**
 * Benchmark (a script, not a test) of throughput on a mixed set: 8 three-platform indexes (amd64, arm64, s390x)
 * sharing a 30 MB base layer per architecture, 4 single manifests on the amd64 base, and one image of one large
 * layer (300 MB; `--large-mb` for quicker runs). A one-shot `sync` into empty targets side by side with the
 * baseline (baseline.ts), on loopback unless `--rtt` says otherwise; the goal is ≥ 90% of its throughput.
 *
 *   bun test/bench/mixed-set.ts [--large-mb 300] [--rtt 0] [--rounds 3] [-- extra sync flags]
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startRealRegistry} from '../support/real-registry.ts'
import {printFigures, sideBySide} from './side-by-side.ts'
import {blob, cliCommand, image, index, MB, push, randomBytes} from './support.ts'

const args = process.argv.slice(2)
const dashes = args.indexOf('--')
const extra = dashes >= 0 ? args.slice(dashes + 1) : []
const own = dashes >= 0 ? args.slice(0, dashes) : args
const largeMb = Number(own[own.indexOf('--large-mb') + 1] || 300) || 300
const rtts = own.includes('--rtt') ? own[own.indexOf('--rtt') + 1]!.split(',').map(Number) : [0]
const rounds = Number(own[own.indexOf('--rounds') + 1] || 3) || 3
const ARCHES = ['amd64', 'arm64', 's390x'] as const

const [source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
const dir = await mkdtemp(join(tmpdir(), 'image-syncer-bench-mixed-'))
try {
  const base = Object.fromEntries(ARCHES.map((arch) => [arch, blob(randomBytes(30 * MB))])) as Record<(typeof ARCHES)[number], ReturnType<typeof blob>>
  const entries: Array<{repo: string; tag: string}> = []
  for (let i = 0; i < 8; i++) {
    const children = ARCHES.map((arch) => ({arch, manifest: image(arch, [base[arch], blob(randomBytes(4 * MB))])}))
    await push(
      source,
      `mixed/multi${i}`,
      '1.0',
      children.map((c) => c.manifest),
      index(children),
    )
    entries.push({repo: `mixed/multi${i}`, tag: '1.0'})
  }
  for (let i = 0; i < 4; i++) {
    await push(source, `mixed/single${i}`, '1.0', [image('amd64', [base.amd64, blob(randomBytes(8 * MB))])])
    entries.push({repo: `mixed/single${i}`, tag: '1.0'})
  }
  await push(source, 'mixed/large', '1.0', [image('amd64', [blob(randomBytes(largeMb * MB))])])
  entries.push({repo: 'mixed/large', tag: '1.0'})
  const cli = await cliCommand()
  console.log(`seeded 8 three-platform indexes, 4 singles and one ${largeMb} MB layer; running ${cli.join(' ')} ${extra.join(' ')}`)
  const figures = await sideBySide({source, target, entries, cli, dir, rtts, rounds, flags: extra})
  printFigures(`mixed set (one ${largeMb} MB layer), ${(figures[0]!.baselineBytes / MB).toFixed(0)} MB of unique blobs`, figures, 1.11)
} finally {
  await Promise.all([source.stop(), target.stop()])
  await rm(dir, {recursive: true, force: true})
}
