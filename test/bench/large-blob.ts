/**
 * Benchmark (a script, not a test) of one very large layer: a single-layer image of `--gib` GiB (default 2)
 * copied between real docker-registry processes on loopback by `apply` through the CLI, (i) with one monolithic
 * PUT, (ii) with `--chunk-size 64MiB`, (iii) with the source download cut at 70 % by a proxy, which the syncer
 * resumes with Range. Prints wall time, throughput and the syncer's peak RSS (goal: under 150 MiB whatever the
 * layer size), and for (iii) how many bytes were read from the source twice.
 *
 *   bun test/bench/large-blob.ts [--gib 2] [--chunk-size 64MiB] [--only monolithic,chunked,reset-at-70]
 *
 * The layer is generated as a stream (random bytes hashed on the way into the source registry), never held in
 * memory. Needs about 3 × the layer size free under the temporary directory (source, target, upload staging).
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {type CutProxy, startCutProxy} from '../support/cut-proxy.ts'
import {pushBlob, putManifest} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {cliCommand, timedRun} from './support.ts'

const args = process.argv.slice(2)
const gib = Number(args[args.indexOf('--gib') + 1] || 2) || 2
const chunkSize = args.includes('--chunk-size') ? args[args.indexOf('--chunk-size') + 1]! : '64MiB'
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : null
const SIZE = Math.round(gib * 1024 ** 3)
const MiB = 1024 * 1024

/** Streams `size` random bytes into a new blob of `repo` (one PUT with Content-Length), hashing as it goes. */
async function pushGeneratedBlob(registry: RealRegistry, repo: string, size: number): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256')
  let sent = 0
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= size) return controller.close()
        const piece = new Uint8Array(Math.min(1 * MiB, size - sent))
        for (let at = 0; at < piece.byteLength; at += 65_536) crypto.getRandomValues(piece.subarray(at, Math.min(piece.byteLength, at + 65_536)))
        hasher.update(piece)
        sent += piece.byteLength
        controller.enqueue(piece)
      },
    },
    {highWaterMark: 0},
  )
  const post = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, {method: 'POST'})
  const session = new URL(post.headers.get('location')!, registry.url)
  // The digest is known only once every byte went out, so the session is completed by a second, empty PUT.
  const patch = await fetch(session, {method: 'PATCH', body, headers: {'content-type': 'application/octet-stream'}})
  if (patch.status !== 202) throw new Error(`seeding PATCH: ${patch.status} ${await patch.text()}`)
  const digest = `sha256:${hasher.digest('hex')}`
  const done = new URL(patch.headers.get('location')!, registry.url)
  done.searchParams.set('digest', digest)
  const put = await fetch(done, {method: 'PUT'})
  if (put.status !== 201) throw new Error(`seeding PUT: ${put.status} ${await put.text()}`)
  return digest
}

const [source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
const dir = await mkdtemp(join(tmpdir(), 'image-syncer-bench-large-'))
let proxy: CutProxy | null = null
try {
  const seedStart = performance.now()
  const layer = await pushGeneratedBlob(source, 'bench/large', SIZE)
  const config = new TextEncoder().encode(JSON.stringify({os: 'linux', architecture: 'amd64', rootfs: {type: 'layers', diff_ids: [layer]}}))
  const configBlob = {bytes: config, digest: sha256Digest(config), mediaType: MediaType.OciConfig}
  await pushBlob(source.url, 'bench/large', configBlob)
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: {mediaType: MediaType.OciConfig, digest: configBlob.digest, size: config.byteLength},
      layers: [{mediaType: MediaType.OciLayerGzip, digest: layer, size: SIZE}],
    }),
  )
  await putManifest(source.url, 'bench/large', '1.0', manifest, MediaType.OciManifest)
  console.log(`seeded a ${gib} GiB layer (${SIZE} bytes, ${layer}) in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`)

  const cli = await cliCommand()
  console.log(`running ${cli.join(' ')}`)
  /** Plans acme/large from `sourceHost` into its own prefix, then times `apply` with `flags`. */
  async function timedApply(label: string, sourceHost: string, flags: string[]): Promise<void> {
    if (only && !only.includes(label)) return
    const definition = join(dir, `${label}.yaml`)
    await writeFile(definition, `targetRepoPrefix: "${target.host}/${label}/"\nimages:\n- source: "${sourceHost}/bench/large:1.0"\n`)
    const planPath = join(dir, `${label}.plan.json`)
    // Not spawnSync: the cut proxy runs in this process and must keep forwarding while the plan reads.
    const plan = await timedRun([...cli, 'plan', '-i', definition, '-o', planPath, '--detailed-exitcode'], dir)
    if (plan.code !== 2) throw new Error(`plan exited ${plan.code}: ${plan.stderr}`)
    const run = await timedRun([...cli, 'apply', planPath, '--format', 'json', '--quiet', ...flags], dir)
    if (run.code !== 0) throw new Error(`apply exited ${run.code}: ${run.stderr.slice(-2000)}`)
    const bytes: number = JSON.parse(run.stdout).summary.bytes
    console.log(
      `${label}: ${run.seconds.toFixed(2)} s, ${(bytes / MiB).toFixed(0)} MiB, ${(bytes / MiB / run.seconds).toFixed(0)} MiB/s, peak RSS ${run.peakMiB.toFixed(0)} MiB${flags.length ? ` (${flags.join(' ')})` : ''}`,
    )
  }

  await timedApply('monolithic', source.host, [])
  await timedApply('chunked', source.host, ['--chunk-size', chunkSize])
  proxy = await startCutProxy(source.host, {cutAt: (length) => Math.floor(length * 0.7), path: new RegExp(`/blobs/${layer}$`)})
  await timedApply('reset-at-70', proxy.host, [])
  const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer}`))
  const read = gets.reduce((n, r) => n + r.bodyBytes, 0)
  const resumed = gets.find((r) => r.range !== null)
  if (gets.length)
    console.log(
      `reset-at-70: ${gets.length} GETs of the layer (${gets.map((r) => r.range ?? 'whole').join(', ')}), cut after ${gets[0]?.bodyBytes ?? 0} bytes; source bytes read ${read} for a ${SIZE}-byte layer: ${read - SIZE} bytes re-read${resumed ? '' : ' (no resume!)'}`,
    )
} finally {
  await Promise.all([proxy?.stop(), source.stop(), target.stop()])
  await rm(dir, {recursive: true, force: true})
}
