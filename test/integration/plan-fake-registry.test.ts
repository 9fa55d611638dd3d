/**
 * `plan` through the whole client stack against the in-process registry, for what a real docker-registry cannot
 * do: token auth with scopes, Basic with `_json_key`, rate limits, server errors, a HEAD without
 * Docker-Content-Digest, and bytes that do not match their digest.
 */
import {afterEach, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {existsSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runPlan, type PlanRequest} from '../../src/plan/run.ts'
import {
  type FakeRegistry,
  type FakeRegistryOptions,
  corruptManifest,
  omitDigestHeader,
  serverError,
  startFakeRegistry,
  tooManyRequests,
} from '../support/fake-registry/index.ts'
import {testPace} from '../support/pace.ts'
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {type Blob, makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(30_000)

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()))
})

async function fake(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const registry = await startFakeRegistry(options)
  cleanups.push(() => registry.stop())
  return registry
}

async function workdir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-fake-'))
  cleanups.push(() => rm(dir, {recursive: true, force: true}))
  return dir
}

/** Plans `sources` from `source` into `target` under `mirror/`, with a docker config of our own. */
async function plan(source: FakeRegistry, target: FakeRegistry, sources: string[], extra: {dockerConfig?: object; authKeyFile?: string} = {}) {
  const dir = await workdir()
  const definitionPath = join(dir, 'images.yaml')
  await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${sources.map((s) => `- source: "${source.host}/${s}"`).join('\n')}\n`)
  await writeFile(join(dir, 'config.json'), JSON.stringify(extra.dockerConfig ?? {}))
  const pace = testPace()
  const request: PlanRequest = {
    definitionPath,
    outputPath: join(dir, 'out.plan.json'),
    registry: {
      pace,
      insecureRegistries: [],
      mirrors: {},
      env: {DOCKER_CONFIG: dir, PATH: process.env.PATH},
      ...(extra.authKeyFile ? {authKeyFile: extra.authKeyFile} : {}),
    },
    tool: {name: 'image-syncer', version: 'test'},
  }
  const outcome = await runPlan(request)
  return {outcome, written: existsSync(request.outputPath), pace}
}

/** A docker config.json with one `auths` entry. */
function dockerAuth(host: string, user: string, password: string): object {
  return {auths: {[host]: {auth: Buffer.from(`${user}:${password}`).toString('base64')}}}
}

describe('plan against the in-process registry', () => {
  test('bearer token flow: tokens are asked with the repository scope and reused', async () => {
    const source = await fake({auth: {kind: 'bearer', users: {alice: 's3cret'}}})
    const target = await fake()
    const index = makeIndex({
      flavor: 'oci',
      platforms: [
        {os: 'linux', architecture: 'amd64'},
        {os: 'linux', architecture: 'arm64'},
      ],
    })
    // Seeded directly: the fake requires auth for pushes too.
    for (const child of index.children) {
      for (const blob of [child.config, ...child.layers]) source.putBlob('acme/app', blob.bytes)
      source.putManifest('acme/app', child.digest, child.bytes, child.mediaType)
    }
    source.putManifest('acme/app', '1.0', index.bytes, index.mediaType)

    const anonymous = await plan(source, target, ['acme/app:1.0'])
    expect(anonymous.outcome.kind).toBe('unclassified')
    expect(anonymous.written).toBe(false)
    if (anonymous.outcome.kind === 'unclassified') expect(anonymous.outcome.failures[0]!.kind).toBe('auth')

    const {outcome} = await plan(source, target, ['acme/app:1.0'], {dockerConfig: dockerAuth(source.host, 'alice', 's3cret')})
    expect(outcome.kind).toBe('planned')
    if (outcome.kind !== 'planned') return
    expect(outcome.plan.entries[0]).toMatchObject({sourceDigest: index.digest, action: 'to-copy'})
    const granted = source.tokenRequests.filter((t) => t.username === 'alice' && t.status === 200)
    // HEAD + GET of the index share one token.
    expect(granted).toHaveLength(1)
    expect(granted[0]!.scopes).toEqual(['repository:acme/app:pull'])
    expect(source.requests.filter((r) => r.path.startsWith('/v2/acme/') && r.authorization !== 'bearer' && r.status !== 401)).toEqual([])
  })

  test('Basic with _json_key from --target-repo-auth-key reaches the target only', async () => {
    const dir = await workdir()
    const key = JSON.stringify({type: 'service_account', private_key: 'not-a-real-key'})
    const keyFile = join(dir, 'key.json')
    await writeFile(keyFile, `${key}\n`)
    const source = await fake()
    const target = await fake({auth: {kind: 'basic', username: '_json_key', password: key}})
    await pushImage(source.url, 'acme/tool', makeImage({flavor: 'docker'}), '2.0')

    const without = await plan(source, target, ['acme/tool:2.0'])
    expect(without.outcome.kind).toBe('unclassified')
    const {outcome} = await plan(source, target, ['acme/tool:2.0'], {authKeyFile: keyFile})
    expect(outcome.kind).toBe('planned')
    expect(target.requests.some((r) => r.authorization === 'basic' && r.status === 404)).toBe(true)
    // The key is for the target: the source never saw credentials.
    expect(source.requests.every((r) => r.authorization === 'none')).toBe(true)
  })

  test('429 with Retry-After, then success', async () => {
    const source = await fake({faults: [tooManyRequests({method: 'HEAD', path: /\/manifests\//}, 1)]})
    const target = await fake()
    const image = makeImage({flavor: 'oci'})
    await pushImage(source.url, 'acme/rl', image, '1')
    const {outcome, pace} = await plan(source, target, ['acme/rl:1'])
    expect(outcome.kind).toBe('planned')
    // Retry-After: 1 was honoured: the pause before the second HEAD is the second it asked for, and the requests to
    // the source that came while it ran waited what was left of it (the registry's hold), none longer.
    expect(pace.sleeps).toContain(1000)
    for (const ms of pace.sleeps) expect(ms).toBeWithin(800, 1001)
    expect(source.requests.filter((r) => r.method === 'HEAD' && r.path === '/v2/acme/rl/manifests/1').map((r) => r.status)).toEqual([429, 200])
  })

  test('500, then success', async () => {
    const index = makeIndex({flavor: 'docker', platforms: [{os: 'linux', architecture: 'amd64'}]})
    const path = `/v2/acme/flaky/manifests/${index.digest}`
    const source = await fake({faults: [serverError({method: 'GET', path})]})
    const target = await fake()
    await pushIndex(source.url, 'acme/flaky', index, '1')
    const {outcome} = await plan(source, target, ['acme/flaky:1'])
    expect(outcome.kind).toBe('planned')
    expect(source.requests.filter((r) => r.method === 'GET' && r.path === path).map((r) => r.status)).toEqual([500, 200])
  })

  test('a HEAD without Docker-Content-Digest falls back to hashing the GET', async () => {
    const source = await fake({faults: [omitDigestHeader({method: 'HEAD', times: Infinity})]})
    const target = await fake()
    const image = makeImage({flavor: 'oci'})
    await pushImage(source.url, 'acme/nodigest', image, '1')
    const {outcome} = await plan(source, target, ['acme/nodigest:1'])
    expect(outcome.kind).toBe('planned')
    if (outcome.kind === 'planned') expect(outcome.plan.entries[0]!.sourceDigest).toBe(image.digest)
  })

  test('a manifest whose bytes do not match its digest is refused and no plan is written', async () => {
    const source = await fake({faults: [corruptManifest({method: 'GET', times: Infinity})]})
    const target = await fake()
    const index = makeIndex({flavor: 'oci', platforms: [{os: 'linux', architecture: 'amd64'}]})
    await pushIndex(source.url, 'acme/evil', index, '1')
    const {outcome, written} = await plan(source, target, ['acme/evil:1'])
    expect(written).toBe(false)
    expect(outcome.kind).toBe('unclassified')
    if (outcome.kind === 'unclassified') {
      expect(outcome.failures[0]!.kind).toBe('content')
      expect(outcome.failures[0]!.message).toContain(`${index.digest} was served with bytes whose digest is`)
    }
  })

  test('all failing entries are reported, not only the first', async () => {
    const source = await fake()
    const target = await fake()
    await pushImage(source.url, 'acme/ok', makeImage({flavor: 'oci'}), '1')
    const {outcome} = await plan(source, target, ['acme/ok:1', 'acme/missing:1', 'acme/gone:2'])
    expect(outcome.kind).toBe('unclassified')
    if (outcome.kind === 'unclassified')
      expect(outcome.failures.map((f) => [f.source, f.kind])).toEqual([
        [`${source.host}/acme/missing:1`, 'source-not-found'],
        [`${source.host}/acme/gone:2`, 'source-not-found'],
      ])
  })

  test('a single manifest records its bytes: the config and each distinct stored layer once, no foreign layer', async () => {
    const source = await fake()
    const target = await fake()
    const image = makeImage({flavor: 'docker', layers: 2, layerSize: 700})
    for (const blob of [image.config, ...image.layers]) source.putBlob('acme/win', blob.bytes)
    const described = ({mediaType, digest, bytes}: Blob) => ({mediaType, digest, size: bytes.length})
    // A Windows base layer: referenced by URL, never stored by registries nor copied, so it weighs nothing.
    const foreign = {
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      digest: sha256Digest(new TextEncoder().encode('base')),
      size: 1_000_000,
      urls: ['https://mcr.example/base'],
    }
    const [first, second] = image.layers.map(described)
    const manifest = {schemaVersion: 2, mediaType: MediaType.DockerManifest, config: described(image.config), layers: [foreign, first, second, first]}
    source.putManifest('acme/win', '1', new TextEncoder().encode(JSON.stringify(manifest)), MediaType.DockerManifest)
    const {outcome} = await plan(source, target, ['acme/win:1'])
    expect(outcome.kind).toBe('planned')
    if (outcome.kind === 'planned') expect(outcome.plan.entries[0]!.bytes).toBe(image.config.bytes.length + 2 * 700)
  })

  test('schema 1 manifests get a clear "unsupported" error', async () => {
    const source = await fake({strictAccept: false})
    const target = await fake()
    const schema1 = new TextEncoder().encode(JSON.stringify({schemaVersion: 1, name: 'acme/old', tag: '1', fsLayers: [], history: []}))
    source.putManifest('acme/old', '1', schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws')
    const {outcome} = await plan(source, target, ['acme/old:1'])
    expect(outcome.kind).toBe('unclassified')
    if (outcome.kind === 'unclassified')
      expect(outcome.failures[0]!.message).toContain('Docker schema 1 manifests (application/vnd.docker.distribution.manifest.v1+prettyjws) are not supported')
  })

  test('--debug logs every request with redacted URLs; secrets reach neither the log, the errors nor the plan', async () => {
    const dir = await workdir()
    const key = JSON.stringify({type: 'service_account', private_key: 'KEY-MATERIAL-do-not-leak'})
    await writeFile(join(dir, 'key.json'), key)
    const source = await fake()
    const target = await fake({auth: {kind: 'basic', username: '_json_key', password: key}})
    await pushImage(source.url, 'acme/dbg', makeImage({flavor: 'oci'}), '1')
    const definition = join(dir, 'images.yaml')
    await writeFile(definition, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n- source: "${source.host}/acme/dbg:1"\n`)
    const out = join(dir, 'dbg.plan.json')
    const env = {DOCKER_CONFIG: dir}
    const ok = await runCli(['plan', '-i', definition, '-o', out, '--debug', '--target-repo-auth-key', join(dir, 'key.json')], {env})
    expect(ok.exitCode).toBe(0)
    expect(ok.stderr).toMatch(new RegExp(`debug: GET http://${target.host}/v2/mirror/.+/manifests/1 404 \\d+ms`))
    expect(ok.stderr).toContain(`debug: GET http://${source.host}/v2/acme/dbg/manifests/sha256:`)
    const planText = await Bun.file(out).text()
    for (const text of [ok.stderr, ok.stdout, planText]) expect(text).not.toContain('KEY-MATERIAL')

    const token = 'tok-SECRET-123456'
    const refused = await runCli(['plan', '-i', definition, '-o', join(dir, 'no.plan.json'), '--debug'], {env: {...env, SYNCER_ACCESS_TOKEN: token}})
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain('could not be classified')
    expect(refused.stderr).not.toContain(token)
  })
})
