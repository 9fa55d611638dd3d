/**
 * A real CNCF distribution registry (the Debian `docker-registry` package, 2.8) on 127.0.0.1.
 *
 * Why a real one next to the fake: the fake registry is what *we* think the spec says; this binary is what
 * most self-hosted registries actually run. End-to-end tests push and copy through it so a misreading of the
 * spec that the fake shares with our client still gets caught.
 *
 * Every instance gets its own free port and its own storage directory, so test files can run in parallel and
 * never see each other's blobs. Nothing leaves loopback, and there is no auth (auth flows are the fake's job)
 * except TLS client certificates, which only a real TLS server can exercise.
 */
import {rmSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Subprocess} from 'bun'

export const DOCKER_REGISTRY_BIN = '/usr/bin/docker-registry'

export interface RealRegistry {
  /** `127.0.0.1:PORT`, the form an image reference uses. */
  readonly host: string
  /** `http://127.0.0.1:PORT` (`https://` with `tls`), no trailing slash. */
  readonly url: string
  /** The registry process, for tests of this helper. */
  readonly pid: number
  /** Config and storage live here; removed by stop(). */
  readonly dir: string
  /** Kills the process and removes its storage. Safe to call twice. */
  stop(): Promise<void>
}

export interface RealRegistryOptions {
  /** Default `/usr/bin/docker-registry`. */
  binary?: string
  /** Serve HTTPS instead of plain HTTP. */
  tls?: RegistryTls
}

/** PEM files for `http.tls` of distribution's configuration. */
export interface RegistryTls {
  /** The server's certificate (valid for 127.0.0.1) and its key. */
  certificate: string
  key: string
  /** The CA that signed `certificate`; the readiness probe trusts it. */
  ca: string
  /**
   * Require client certificates signed by `ca` (`http.tls.clientcas`). The readiness probe presents this one,
   * since without a certificate the registry ends every handshake.
   */
  clientAuth?: {certificate: string; key: string}
}

/** How long the registry gets to answer `GET /v2/` before we give up. It normally takes ~50 ms. */
const READY_TIMEOUT_MS = 10_000
/** Port races (another process grabbing the port between our probe and the registry's bind) are retried. */
const START_ATTEMPTS = 4

/**
 * Registries still running, with their directories. The `exit` hook below removes them when the test runner exits
 * normally or through an uncaught error; the per-registry watchdog covers a runner that is SIGKILLed.
 */
const live = new Map<Subprocess, string>()
let exitHookInstalled = false

export async function startRealRegistry(options: RealRegistryOptions = {}): Promise<RealRegistry> {
  const binary = options.binary ?? DOCKER_REGISTRY_BIN
  if (!(await Bun.file(binary).exists())) {
    throw new Error(`${binary} is missing: install it with \`apt-get install -y docker-registry\``)
  }
  installExitHook()
  let lastError: unknown
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(binary, await freePort(), options.tls)
    } catch (error) {
      lastError = error
      if (!(error instanceof RegistryStartError) || !error.addressInUse) throw error
    }
  }
  throw new Error(`docker-registry did not start after ${START_ATTEMPTS} attempts`, {cause: lastError})
}

class RegistryStartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message)
    this.name = 'RegistryStartError'
  }
}

async function startOnce(binary: string, port: number, tls: RegistryTls | undefined): Promise<RealRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-registry-'))
  const configPath = join(dir, 'config.yml')
  await writeFile(configPath, registryConfig(join(dir, 'storage'), port, tls))

  const proc = Bun.spawn([binary, 'serve', configPath], {
    stdin: 'ignore',
    stdout: 'ignore',
    // Kept so a failed start can say why; with log level `error` it stays tiny afterwards.
    stderr: 'pipe',
  })
  live.set(proc, dir)
  const watchdog = spawnWatchdog(proc.pid, dir)
  const stderr = collect(proc.stderr)

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // The watchdog goes first: once we kill the registry ourselves its pid may be reused.
    watchdog.kill('SIGKILL')
    proc.kill('SIGTERM')
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3000).then(() => false)])
    if (!exited) {
      proc.kill('SIGKILL')
      await proc.exited
    }
    live.delete(proc)
    await rm(dir, {recursive: true, force: true})
  }

  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`
  try {
    await waitUntilReady(url, proc, stderr, tls ? await probeTls(tls) : undefined)
  } catch (error) {
    await stop()
    throw error
  }
  return {host: `127.0.0.1:${port}`, url, pid: proc.pid, dir, stop}
}

/**
 * distribution 2.8's configuration format (`version: 0.1`). Schema 1 is switched off so that a client asking for
 * the wrong media type gets an error instead of a silently converted, re-signed manifest; the health check is off
 * because it only adds background storage traffic.
 */
function registryConfig(rootDirectory: string, port: number, tls: RegistryTls | undefined): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${rootDirectory}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(tls ? ['  tls:', `    certificate: ${tls.certificate}`, `    key: ${tls.key}`] : []),
    ...(tls?.clientAuth ? ['    clientcas:', `      - ${tls.ca}`] : []),
    'health:',
    '  storagedriver:',
    '    enabled: false',
    'compatibility:',
    '  schema1:',
    '    enabled: false',
    '',
  ].join('\n')
}

/** Bun's per-request TLS options for the readiness probe: the server's CA, and a client certificate if required. */
interface ProbeTls {
  ca: string
  cert?: string
  key?: string
}

async function probeTls(tls: RegistryTls): Promise<ProbeTls> {
  const text = (path: string) => Bun.file(path).text()
  const ca = await text(tls.ca)
  return tls.clientAuth ? {ca, cert: await text(tls.clientAuth.certificate), key: await text(tls.clientAuth.key)} : {ca}
}

async function waitUntilReady(url: string, proc: Subprocess, stderr: () => string, tls: ProbeTls | undefined): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const text = stderr()
      throw new RegistryStartError(
        `docker-registry exited (${proc.exitCode ?? proc.signalCode}) before answering ${url}/v2/:\n${text}`,
        /address already in use/i.test(text),
      )
    }
    try {
      const response = await fetch(`${url}/v2/`, {signal: AbortSignal.timeout(1000), ...(tls ? {tls} : {})})
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // Not listening yet.
    }
    await Bun.sleep(25)
  }
  throw new RegistryStartError(`docker-registry did not answer 200 on ${url}/v2/ within ${READY_TIMEOUT_MS} ms:\n${stderr()}`, false)
}

/** Asks the kernel for a free port. Racy by nature, hence the retry in startRealRegistry. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}

/**
 * A `sh` that waits for EOF on its stdin, which is a pipe from this process. The kernel closes that pipe however
 * we die (even SIGKILL), so the registry and its directory go away with the test runner.
 */
function spawnWatchdog(pid: number, dir: string): Subprocess {
  const script = [
    'cat >/dev/null',
    'kill -TERM "$1" 2>/dev/null',
    'for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done',
    'kill -KILL "$1" 2>/dev/null',
    'rm -rf "$2"',
  ].join('; ')
  const watchdog = Bun.spawn(['sh', '-c', script, 'watchdog', String(pid), dir], {
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'ignore',
  })
  // It must not keep the test runner alive on its own.
  watchdog.unref()
  return watchdog
}

/** Buffers a child's stream in the background and returns a reader of what arrived so far. */
function collect(stream: ReadableStream<Uint8Array>): () => string {
  let text = ''
  const decoder = new TextDecoder()
  void (async () => {
    try {
      for await (const chunk of stream) text += decoder.decode(chunk, {stream: true})
    } catch {
      // The process was killed; what we have is all there is.
    }
  })()
  return () => text.trim()
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Only synchronous work is possible here. The watchdogs are left alone: our exit closes their stdin anyway.
  process.on('exit', () => {
    for (const [proc, dir] of live) {
      proc.kill('SIGKILL')
      rmSync(dir, {recursive: true, force: true})
    }
  })
}
