/**
 * Benchmark (a script, not a test): how soon the CLI answers. Over N runs each (after one warm-up), medians of
 * `--version`, `--help` and `plan --help` (spawn to exit), and of `plan`'s time to first request (spawn to the
 * arrival of its first request at a loopback registry, which answers 503, so the run goes no further than it
 * must), each with the median of its per-run ratio to `skopeo --version`, run in turn with it (A B A B …) so a
 * machine that drifts shifts both. Wall time is the goal's figure; CPU time (the child's own, up to its exit or
 * to the first request) is printed beside it, as it tells the same on a machine whose other work delays us.
 *
 *   bun test/bench/startup.ts [N=10]      (the standalone binary when built, see cliCommand)
 */
import {readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {cliCommand} from './support.ts'

const runs = Number(process.argv[2] ?? 10)
const cli = await cliCommand()
const skopeo = Bun.which('skopeo')
const dir = await mkdtemp(join(tmpdir(), 'image-syncer-startup-'))
// No docker config, no system certificate directories: the same files read on every run and machine.
const env = {PATH: process.env.PATH ?? '', HOME: dir, SYNCER_CERTS_DIR: '', NO_COLOR: '1'}

interface Sample {
  wallMs: number
  cpuMs: number
  peakMiB: number | null
}

/** Spawn to exit, with the child's own CPU time and peak RSS (from wait4: the bench's other children are not counted). */
async function exitTime(command: string[]): Promise<Sample> {
  const started = performance.now()
  const child = Bun.spawn(command, {stdout: 'pipe', stderr: 'pipe', cwd: dir, env})
  const [, , code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  const wallMs = performance.now() - started
  if (code !== 0) throw new Error(`${command.join(' ')} exited ${code}`)
  const usage = child.resourceUsage()
  return {wallMs, cpuMs: usage ? Number(usage.cpuTime.total) / 1000 : Number.NaN, peakMiB: usage ? usage.maxRSS / 1024 / 1024 : null}
}

/** CPU time of a running process so far: the sum over its threads of /proc's schedstat (nanoseconds on CPU). */
function cpuMsOf(pid: number): number {
  let ns = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
  return ns / 1e6
}

/** The plan run in progress, and when (and after how much of its CPU) its first request arrived. */
let planning: {pid: number; first: {at: number; cpuMs: number} | null} | null = null
// A registry that notes its first request; 503 tells plan the registry is unavailable, so it stops there.
const registry = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch() {
    if (planning && !planning.first) planning.first = {at: performance.now(), cpuMs: cpuMsOf(planning.pid)}
    return new Response('{"errors":[{"code":"UNAVAILABLE","message":"bench"}]}', {status: 503, headers: {'content-type': 'application/json'}})
  },
})
const host = `127.0.0.1:${registry.port}`
const definition = join(dir, 'startup.yaml')
await writeFile(definition, `targetRepoPrefix: "${host}/mirror/"\nimages:\n- source: "${host}/app:1.0"\n`)

/** Spawn to the first request plan sends; the run is then stopped (what follows is not start-up). */
async function firstRequest(): Promise<Sample> {
  const started = performance.now()
  const child = Bun.spawn([...cli, 'plan', '-i', definition, '-o', join(dir, 'startup.plan.json')], {stdout: 'ignore', stderr: 'pipe', cwd: dir, env})
  const run: {pid: number; first: {at: number; cpuMs: number} | null} = {pid: child.pid, first: null}
  planning = run
  const stderr = new Response(child.stderr).text()
  while (run.first === null && child.exitCode === null) await Bun.sleep(1)
  planning = null
  child.kill()
  await child.exited
  if (run.first === null) throw new Error(`plan exited ${child.exitCode} before any request: ${(await stderr).slice(-1000)}`)
  return {wallMs: run.first.at - started, cpuMs: run.first.cpuMs, peakMiB: null}
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** N rounds of `measure` and skopeo --version in turn, after one warm-up of each; medians and per-round ratios. */
async function alternated(measure: () => Promise<Sample>) {
  const reference = skopeo ? () => exitTime([skopeo, '--version']) : null
  await measure()
  await reference?.()
  const ours: Sample[] = []
  const theirs: Sample[] = []
  for (let i = 0; i < runs; i++) {
    ours.push(await measure())
    if (reference) theirs.push(await reference())
  }
  const peaks = ours.map((s) => s.peakMiB).filter((p): p is number => p !== null)
  const figure = (of: (s: Sample) => number) => ({
    ms: median(ours.map(of)),
    ratio: theirs.length ? median(ours.map((s, i) => of(s) / of(theirs[i]!))) : null,
    skopeoMs: theirs.length ? median(theirs.map(of)) : null,
  })
  return {wall: figure((s) => s.wallMs), cpu: figure((s) => s.cpuMs), peakMiB: peaks.length ? median(peaks) : null}
}

const cases: Array<{name: string; measure: () => Promise<Sample>; goalMs: number}> = [
  {name: '--version', measure: () => exitTime([...cli, '--version']), goalMs: 80},
  {name: '--help', measure: () => exitTime([...cli, '--help']), goalMs: 80},
  {name: 'plan --help', measure: () => exitTime([...cli, 'plan', '--help']), goalMs: 80},
  {name: 'plan, first request', measure: firstRequest, goalMs: 150},
]

const shown = (f: {ms: number; ratio: number | null}) => `${f.ms.toFixed(1)} ms${f.ratio === null ? '' : ` (${f.ratio.toFixed(2)}× skopeo)`}`
try {
  const load = loadavg()[0]!.toFixed(1)
  console.log(`${cli.join(' ')}: ${runs} runs each, in turn with ${skopeo ? 'skopeo --version' : '(no skopeo installed)'}; load average ${load}`)
  for (const c of cases) {
    const r = await alternated(c.measure)
    const peak = r.peakMiB === null ? '' : `, peak ${r.peakMiB.toFixed(1)} MiB`
    const reference = r.wall.skopeoMs === null ? '' : `; skopeo --version ${r.wall.skopeoMs.toFixed(1)} ms wall, ${r.cpu.skopeoMs!.toFixed(1)} ms CPU`
    const verdict = r.wall.ms <= c.goalMs ? 'met' : 'not met'
    console.log(`${c.name.padEnd(20)} wall ${shown(r.wall)}, CPU ${shown(r.cpu)}${peak}; goal ≤ ${c.goalMs} ms wall: ${verdict}${reference}`)
  }
} finally {
  registry.stop(true)
  await rm(dir, {recursive: true, force: true})
}
