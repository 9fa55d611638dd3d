/**
 * SIGINT is exit 130 for every command, not only apply: an interrupted plan (or the one-shot mode's plan phase,
 * verify, sign) must not look like a failed run (exit 1) to a CI system or a wrapper script.
 */
import {afterAll, beforeAll, expect, setDefaultTimeout, test} from 'bun:test'
import {generateKeyPairSync} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {delay, type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeIndex, pushIndex} from '../support/images.ts'

setDefaultTimeout(30_000)

let source: FakeRegistry
let target: FakeRegistry
let dir = ''
let definition = ''

beforeAll(async () => {
  ;[source, target] = await Promise.all([startFakeRegistry(), startFakeRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-sigint-cmd-'))
  const index = makeIndex({flavor: 'oci', platforms: [{os: 'linux', architecture: 'amd64'}]})
  await pushIndex(source.url, 'acme/slow', index, '1')
  definition = join(dir, 'images.yaml')
  await writeFile(definition, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n- source: "${source.host}/acme/slow:1"\n`)
  // verify reads its keys before any request; sign reads its key only after resolving the image.
  await writeFile(join(dir, 'public.pem'), generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({type: 'spki', format: 'pem'}))
  await writeFile(join(dir, 'private.pem'), generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey.export({type: 'pkcs8', format: 'pem'}))
  // Every manifest request at the source hangs: each command is mid-request when interrupted.
  source.addFault(delay(20_000, {path: /\/manifests\//, times: Infinity}))
})

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()])
  if (dir) await rm(dir, {recursive: true, force: true})
})

const commands: Array<[string, () => string[]]> = [
  ['plan', () => ['plan', '-i', definition, '-o', join(dir, 'p.plan.json')]],
  ['sync (plan phase)', () => ['sync', '-i', definition, '--quiet']],
  ['the one-shot mode without a command', () => ['--images-file', definition]],
  ['verify', () => ['verify', `${source.host}/acme/slow:1`, '--key', join(dir, 'public.pem')]],
  ['sign', () => ['sign', `${source.host}/acme/slow:1`, '--key', join(dir, 'private.pem')]],
]

for (const [name, args] of commands) {
  test(`SIGINT during ${name} exits 130 within 2 s`, async () => {
    const before = source.count('HEAD', /\/manifests\//) + source.count('GET', /\/manifests\//)
    const child = Bun.spawn([process.execPath, join(import.meta.dir, '../../src/cli.ts'), ...args()], {stdout: 'pipe', stderr: 'pipe', cwd: dir})
    const deadline = Date.now() + 10_000
    while (source.count('HEAD', /\/manifests\//) + source.count('GET', /\/manifests\//) === before && Date.now() < deadline) await Bun.sleep(20)
    const signalled = Date.now()
    child.kill('SIGINT')
    const exitCode = await child.exited
    const stderr = await new Response(child.stderr).text()
    expect(Date.now() - signalled).toBeLessThan(2000)
    expect(exitCode).toBe(130)
    expect(stderr).toContain('Interrupted')
  })
}
