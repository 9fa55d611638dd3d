/** What the benchmark scripts share: the CLI they run, and the peak memory of a child process. */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

const repoRoot = join(import.meta.dir, '../..')

/** The standalone binary when built (what ops run; starts in ~40 ms instead of ~200 ms), else the CLI from source. */
export async function cliCommand(): Promise<string[]> {
  const binary = join(repoRoot, 'dist/image-syncer')
  return (await Bun.file(binary).exists()) ? [binary] : [process.execPath, join(repoRoot, 'src/cli.ts')]
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

/** Runs `command` to its end, timing it and sampling its peak RSS (MiB). */
export async function timedRun(command: string[], cwd: string): Promise<{seconds: number; peakMiB: number; code: number; stdout: string; stderr: string}> {
  const started = performance.now()
  const child = Bun.spawn(command, {stdout: 'pipe', stderr: 'pipe', cwd})
  const rss = watchPeakRss(child.pid)
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return {seconds: (performance.now() - started) / 1000, peakMiB: rss.stop(), code, stdout, stderr}
}
