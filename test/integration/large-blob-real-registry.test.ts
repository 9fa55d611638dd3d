/**
 * Large-layer transfers against real docker-registry (distribution 2.8) processes, through the CLI: a blob
 * download cut at 70 % by a proxy resumes with `Range` from where it broke (the source is not read again from
 * 0), and `--chunk-size` uploads in PATCH chunks that the registry assembles into a blob skopeo reads back.
 * The proxies (test/support/cut-proxy.ts) stand between the CLI and the registries and log what passed.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {digestOf} from '../../src/ref/digest.ts'
import {type CutProxy, startCutProxy} from '../support/cut-proxy.ts'
import {type Image, makeImage, pushImage} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {skopeo} from '../support/skopeo.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(60_000)

const LAYER_SIZE = 3 * 1024 * 1024 + 12_345
let source: RealRegistry
let target: RealRegistry
let dir: string
let image: Image
const proxies: CutProxy[] = []

beforeAll(async () => {
  ;[source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-large-'))
  await writeFile(join(dir, 'config.json'), '{}')
  image = makeImage({flavor: 'oci', layers: 1, layerSize: LAYER_SIZE})
  await pushImage(source.url, 'acme/big', image, '1')
})
afterAll(async () => {
  await Promise.all([...proxies.map((p) => p.stop()), source?.stop(), target?.stop()])
  await rm(dir, {recursive: true, force: true})
})

async function proxy(upstream: RealRegistry, cut?: {cutAt: (length: number) => number; path: RegExp}): Promise<CutProxy> {
  const started = await startCutProxy(upstream.host, cut ?? {})
  proxies.push(started)
  return started
}

/** `sync` of acme/big:1 from `from` into `to` under `prefix`, with `flags`; must succeed. */
async function sync(from: string, to: string, prefix: string, flags: string[] = []) {
  const definition = join(dir, `${prefix}.yaml`)
  await writeFile(definition, `targetRepoPrefix: "${to}/${prefix}/"\nimages:\n- source: "${from}/acme/big:1"\n`)
  const run = await runCli(['sync', '-i', definition, '--format', 'json', '--quiet', ...flags], {env: {DOCKER_CONFIG: dir}})
  expect({exitCode: run.exitCode, stderr: run.stderr}).toEqual({exitCode: 0, stderr: ''})
  return JSON.parse(run.stdout) as {apply: {summary: {copied: number}}}
}

/** Where `sync` puts acme/big read from `sourceHost`: under the prefix, by source registry (`:` → `-`). */
const mirrored = (prefix: string, sourceHost: string) => `${prefix}/${sourceHost.replace(':', '-')}/acme/big`

async function targetLayer(repository: string): Promise<Uint8Array> {
  const layer = image.layers[0]!
  const response = await fetch(`${target.url}/v2/${repository}/blobs/${layer.digest}`)
  expect(response.status, `${repository}@${layer.digest} at the target`).toBe(200)
  return new Uint8Array(await response.arrayBuffer())
}

describe('large layers with real docker-registry', () => {
  test('a source download cut at 70 % resumes with Range: bytes=N- and reads only the rest', async () => {
    const cutting = await proxy(source, {cutAt: (length) => Math.floor(length * 0.7), path: new RegExp(`/blobs/${image.layers[0]!.digest}$`)})
    const result = await sync(cutting.host, target.host, 'resumed')
    expect(result.apply.summary.copied).toBe(1)

    const layer = image.layers[0]!
    const gets = cutting.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer.digest}`))
    expect(gets.map((r) => r.cut)).toEqual([true, false])
    expect(gets[0]!.bodyBytes).toBe(Math.floor(LAYER_SIZE * 0.7))
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1])
    expect(resumedAt).toBeGreaterThan(0)
    expect(resumedAt).toBeLessThanOrEqual(gets[0]!.bodyBytes)
    // The two reads together carry the layer once, give or take what was in flight at the cut.
    expect(gets[1]!.bodyBytes).toBe(LAYER_SIZE - resumedAt)
    expect(digestOf(await targetLayer(mirrored('resumed', cutting.host)))).toBe(layer.digest)
  })

  test('--chunk-size: the layer goes up in PATCH chunks, and skopeo reads the copied image back', async () => {
    const logging = await proxy(target)
    const chunk = 1024 * 1024
    const result = await sync(source.host, logging.host, 'chunked', ['--chunk-size', '1MiB'])
    expect(result.apply.summary.copied).toBe(1)

    const layer = image.layers[0]!
    const patches = logging.requests.filter((r) => r.method === 'PATCH')
    // The layer in 4 chunks (3 whole, 1 short), and the config in 1.
    expect(patches).toHaveLength(Math.ceil(LAYER_SIZE / chunk) + 1)
    const puts = logging.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'))
    expect(puts.every((r) => r.bodyBytes === 0)).toBe(true)
    expect(digestOf(await targetLayer(mirrored('chunked', source.host)))).toBe(layer.digest)

    // Another client reads it all (skopeo verifies every blob's digest as it copies).
    expect(
      await skopeo(['inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${target.host}/${mirrored('chunked', source.host)}:1`]),
    ).toStrictEqual(image.bytes)
    const out = join(dir, 'skopeo-out')
    await skopeo([
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--src-no-creds',
      `docker://${target.host}/${mirrored('chunked', source.host)}:1`,
      `oci:${out}:1`,
    ])
    expect(await Bun.file(join(out, 'blobs', 'sha256', layer.digest.slice('sha256:'.length))).size).toBe(LAYER_SIZE)
  })
})
