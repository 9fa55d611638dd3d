/** The real-registry helper itself: start, stop, cleanup, and the errors it gives when it cannot start. */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {existsSync} from 'node:fs'
import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DOCKER_REGISTRY_BIN, startRealRegistry} from './real-registry.ts'

setDefaultTimeout(15_000)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('startRealRegistry', () => {
  let scripts: string
  beforeAll(async () => {
    scripts = await mkdtemp(join(tmpdir(), 'real-registry-test-'))
  })
  afterAll(() => rm(scripts, {recursive: true, force: true}))

  test('each instance has its own port and directory; stop() kills it and removes the directory', async () => {
    const [a, b] = await Promise.all([startRealRegistry(), startRealRegistry()])
    expect(a.host).not.toBe(b.host)
    expect(a.dir).not.toBe(b.dir)
    expect((await fetch(`${a.url}/v2/`)).status).toBe(200)
    await Promise.all([a.stop(), b.stop()])
    await a.stop() // idempotent
    for (const registry of [a, b]) {
      expect(existsSync(registry.dir)).toBe(false)
      // The pid may linger as a zombie until Bun reaps it; the port must be closed either way.
      await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow()
    }
    await Bun.sleep(50)
    expect(alive(a.pid) && alive(b.pid)).toBe(false)
  })

  test('a missing binary says how to install it', async () => {
    await expect(startRealRegistry({binary: join(scripts, 'nope')})).rejects.toThrow('install it with `apt-get install -y docker-registry`')
  })

  test('a registry that dies at start-up is reported with its stderr', async () => {
    const script = join(scripts, 'broken')
    await writeFile(script, '#!/bin/sh\necho "configuration error: boom" >&2\nexit 3\n')
    await chmod(script, 0o755)
    await expect(startRealRegistry({binary: script})).rejects.toThrow(/exited \(3\)[\s\S]*configuration error: boom/)
  })

  test('"address already in use" at start-up is retried on another port', async () => {
    const counter = join(scripts, 'count')
    const script = join(scripts, 'busy-once')
    await writeFile(
      script,
      [
        '#!/bin/sh',
        `if [ ! -e ${counter} ]; then`,
        `  touch ${counter}; echo "listen tcp: bind: address already in use" >&2; exit 1`,
        'fi',
        `exec ${DOCKER_REGISTRY_BIN} "$@"`,
        '',
      ].join('\n'),
    )
    await chmod(script, 0o755)
    const registry = await startRealRegistry({binary: script})
    try {
      expect(existsSync(counter)).toBe(true)
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(200)
    } finally {
      await registry.stop()
    }
  })
})
