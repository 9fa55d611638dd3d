/** SIGINT during apply: requests are aborted, nothing half-copied is tagged, exit 130 within 2 s; apply again finishes. */
import {afterAll, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {delay, type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {headManifest, makeIndex, pushIndex} from '../support/images.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(30_000)

const registries: FakeRegistry[] = []
let dir = ''
afterAll(async () => {
  await Promise.all(registries.map((r) => r.stop()))
  if (dir) await rm(dir, {recursive: true, force: true})
})

test('SIGINT aborts in-flight transfers, tags nothing and exits 130 within 2 s; a second apply completes', async () => {
  const [source, target] = await Promise.all([startFakeRegistry(), startFakeRegistry()])
  registries.push(source, target)
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-sigint-'))
  const index = makeIndex({
    flavor: 'oci',
    platforms: [
      {os: 'linux', architecture: 'amd64'},
      {os: 'linux', architecture: 'arm64'},
    ],
  })
  await pushIndex(source.url, 'acme/slow', index, '1')
  const definition = join(dir, 'images.yaml')
  await writeFile(definition, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n- source: "${source.host}/acme/slow:1"\n`)
  const planPath = join(dir, 'slow.plan.json')
  expect((await runCli(['plan', '-i', definition, '-o', planPath])).exitCode).toBe(0)

  // Every blob download now hangs for 20 s: the apply is mid-transfer when interrupted.
  source.addFault(delay(20_000, {method: 'GET', path: /\/blobs\//, times: Infinity}))
  const child = Bun.spawn([process.execPath, join(import.meta.dir, '../../src/cli.ts'), 'apply', planPath, '--quiet'], {stdout: 'pipe', stderr: 'pipe'})
  const deadline = Date.now() + 10_000
  while (source.count('GET', /\/blobs\//) === 0 && Date.now() < deadline) await Bun.sleep(20)
  expect(source.count('GET', /\/blobs\//)).toBeGreaterThan(0)
  const signalled = Date.now()
  child.kill('SIGINT')
  const exitCode = await child.exited
  expect(Date.now() - signalled).toBeLessThan(2000)
  expect(exitCode).toBe(130)
  expect((await headManifest(target.url, `mirror/${source.host.replace(':', '-')}/acme/slow`, '1')).status).toBe(404)

  source.clearFaults()
  const again = await runCli(['apply', planPath, '--quiet', '--format', 'json'])
  expect(again.exitCode).toBe(0)
  expect(JSON.parse(again.stdout).summary.copied).toBe(1)
  const tagged = await headManifest(target.url, `mirror/${source.host.replace(':', '-')}/acme/slow`, '1')
  expect(tagged.digest).toBe(index.digest)
})
