/**
 * One-shot `sync` against the baseline (baseline.ts), measured side by side in one run: for each round and each
 * distance, both copy the set into fresh target repositories, in alternating order (so neither always runs on a
 * warmer machine), and the figure is the median of the per-round ratios. A distance is a round trip: the
 * registries are reached through a latency proxy holding each chunk half of it each way (0: directly).
 */
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {TcpProxy} from '../support/tcp-proxy.ts'
import {startLatencyProxy} from '../support/latency-proxy.ts'
import {baselineCopy} from './baseline.ts'
import {measuredRun} from './support.ts'

interface Registry {
  host: string
}

export interface SideBySide {
  source: Registry
  target: Registry
  entries: Array<{repo: string; tag: string}>
  cli: string[]
  dir: string
  /** Round trips in ms; 0 is loopback without a proxy. */
  rtts: number[]
  rounds: number
  /** Extra flags for every sync. */
  flags?: string[]
}

export interface Figure {
  rtt: number
  ratio: number
  syncSeconds: number
  baselineSeconds: number
  baselineBytes: number
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export async function sideBySide(options: SideBySide): Promise<Figure[]> {
  const proxies: TcpProxy[] = []
  const hostsAt = new Map<number, {source: string; target: string}>()
  for (const rtt of options.rtts) {
    if (rtt === 0) hostsAt.set(rtt, {source: options.source.host, target: options.target.host})
    else {
      const [source, target] = await Promise.all([options.source, options.target].map((r) => startLatencyProxy(upstreamOf(r.host), rtt / 2)))
      proxies.push(source!, target!)
      hostsAt.set(rtt, {source: source!.host, target: target!.host})
    }
  }
  const samples = new Map(options.rtts.map((rtt) => [rtt, {ratios: [] as number[], sync: [] as number[], baseline: [] as number[], bytes: 0}]))
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const rtt of options.rtts) {
        const hosts = hostsAt.get(rtt)!
        const prefix = `r${round}-rtt${rtt}`
        const runSync = async () => {
          const definition = join(options.dir, `${prefix}.yaml`)
          await writeFile(
            definition,
            `targetRepoPrefix: "${hosts.target}/${prefix}-sync/"\nimages:\n${options.entries.map((e) => `- source: "${hosts.source}/${e.repo}:${e.tag}"`).join('\n')}\n`,
          )
          return (await measuredRun([...options.cli, 'sync', '-i', definition, '--quiet', ...(options.flags ?? [])], options.dir, hosts.source)).seconds
        }
        const runBaseline = () => baselineCopy({url: `http://${hosts.source}`}, {url: `http://${hosts.target}`}, options.entries, `${prefix}-baseline/`)
        const s = samples.get(rtt)!
        let syncSeconds: number
        let baseline: Awaited<ReturnType<typeof runBaseline>>
        if (round % 2 === 0) {
          syncSeconds = await runSync()
          baseline = await runBaseline()
        } else {
          baseline = await runBaseline()
          syncSeconds = await runSync()
        }
        s.ratios.push(syncSeconds / baseline.seconds)
        s.sync.push(syncSeconds)
        s.baseline.push(baseline.seconds)
        s.bytes = baseline.bytes
        console.log(
          `  round ${round + 1}, RTT ${rtt} ms: sync ${syncSeconds.toFixed(2)} s, baseline ${baseline.seconds.toFixed(2)} s (${(syncSeconds / baseline.seconds).toFixed(2)}×)`,
        )
      }
    }
  } finally {
    await Promise.all(proxies.map((p) => p.stop()))
  }
  return options.rtts.map((rtt) => {
    const s = samples.get(rtt)!
    return {rtt, ratio: median(s.ratios), syncSeconds: median(s.sync), baselineSeconds: median(s.baseline), baselineBytes: s.bytes}
  })
}

export function printFigures(what: string, figures: Figure[], goal: number): void {
  console.log(`\n${what}: one-shot sync vs the baseline (median of per-round ratios; goal ≤ ${goal}×)`)
  for (const f of figures) {
    const where = f.rtt === 0 ? 'loopback' : `RTT ${f.rtt} ms`
    console.log(
      `  ${where.padEnd(12)} ${f.ratio.toFixed(2)}×  (sync ${f.syncSeconds.toFixed(2)} s, baseline ${f.baselineSeconds.toFixed(2)} s; ${((1 / f.ratio) * 100).toFixed(0)}% of the baseline's throughput) ${f.ratio <= goal ? 'met' : 'NOT met'}`,
    )
  }
}

function upstreamOf(host: string): {hostname: string; port: number} {
  const [hostname, port] = host.split(':')
  return {hostname: hostname!, port: Number(port)}
}
