/**
 * The baseline of the benchmarks: the least work a complete copy of a set of tags can do, with none of the
 * checks image-syncer makes. Read every manifest once (all in parallel, children as soon as their index is
 * read), stream every unique blob GET → PUT once at 16 streams (the POST sent with the GET), mount it into every
 * other repository that uses it, then PUT every manifest, children first, the tag last.
 */
import {MANIFEST_ACCEPT} from '../../src/oci/media-types.ts'
import {mapLimit} from '../../src/transport/limiter.ts'

/** Requests at once for manifests and mounts: as many as image-syncer allows per registry (--requests-per-registry). */
const REQUESTS = 32
/** Blob streams at once: image-syncer's transfers (DEFAULT_TRANSFERS). */
const STREAMS = 16

interface ReadManifest {
  digest: string
  mediaType: string
  bytes: Uint8Array
  children: ReadManifest[]
  blobs: Array<{digest: string; size: number}>
}

export interface BaselineCopy {
  seconds: number
  bytes: number
  blobs: number
}

/** Copies each `repo:tag` of `from` to `<to>/<prefix><repo>:tag`. */
export async function baselineCopy(from: {url: string}, to: {url: string}, entries: Array<{repo: string; tag: string}>, prefix: string): Promise<BaselineCopy> {
  const started = performance.now()
  const tops = await Promise.all(entries.map((e) => readTree(from, e.repo, e.tag)))
  // Each unique blob: the repositories that use it, the first of which gets the upload.
  const users = new Map<string, {size: number; source: string; targets: string[]}>()
  entries.forEach((e, i) => {
    for (const blob of blobsOf(tops[i]!)) {
      const use = users.get(blob.digest) ?? {size: blob.size, source: e.repo, targets: []}
      if (!use.targets.includes(e.repo)) use.targets.push(e.repo)
      users.set(blob.digest, use)
    }
  })
  let bytes = 0
  await mapLimit([...users], STREAMS, async ([digest, use]) => {
    bytes += await streamBlob(from, to, use.source, `${prefix}${use.targets[0]}`, digest, use.size)
  })
  const mounts = [...users].flatMap(([digest, use]) => use.targets.slice(1).map((repo) => ({digest, repo, from: `${prefix}${use.targets[0]}`})))
  await mapLimit(mounts, REQUESTS, async (m) => {
    const post = await fetch(`${to.url}/v2/${prefix}${m.repo}/blobs/uploads/?mount=${m.digest}&from=${m.from}`, {method: 'POST'})
    await post.body?.cancel()
    if (post.status !== 201) throw new Error(`baseline mount ${post.status}`)
  })
  const children = entries.flatMap((e, i) => tops[i]!.children.map((c) => ({repo: e.repo, manifest: c, reference: c.digest})))
  await mapLimit(children, REQUESTS, (c) => putManifest(to, `${prefix}${c.repo}`, c.reference, c.manifest))
  await mapLimit(
    entries.map((e, i) => ({...e, top: tops[i]!})),
    REQUESTS,
    (e) => putManifest(to, `${prefix}${e.repo}`, e.tag, e.top),
  )
  return {seconds: (performance.now() - started) / 1000, bytes, blobs: users.size}
}

/** A manifest and, for an index, its children, each read once; at most REQUESTS at once across all of them. */
const reads = {active: 0, waiting: [] as Array<() => void>}
async function readTree(from: {url: string}, repo: string, reference: string): Promise<ReadManifest> {
  const manifest = await limited(async () => {
    const response = await fetch(`${from.url}/v2/${repo}/manifests/${reference}`, {headers: {accept: MANIFEST_ACCEPT}})
    if (response.status !== 200) throw new Error(`baseline GET ${repo}:${reference} ${response.status}`)
    return {
      digest: response.headers.get('docker-content-digest')!,
      mediaType: response.headers.get('content-type')!,
      bytes: new Uint8Array(await response.arrayBuffer()),
    }
  })
  const body = JSON.parse(new TextDecoder().decode(manifest.bytes)) as {
    manifests?: Array<{digest: string}>
    config?: {digest: string; size: number}
    layers?: Array<{digest: string; size: number}>
  }
  const children = body.manifests ? await Promise.all(body.manifests.map((m) => readTree(from, repo, m.digest))) : []
  return {...manifest, children, blobs: body.config ? [body.config, ...body.layers!] : []}
}

async function limited<T>(work: () => Promise<T>): Promise<T> {
  while (reads.active >= REQUESTS) await new Promise<void>((resolve) => reads.waiting.push(resolve))
  reads.active++
  try {
    return await work()
  } finally {
    reads.active--
    reads.waiting.shift()?.()
  }
}

function blobsOf(manifest: ReadManifest): Array<{digest: string; size: number}> {
  return [...manifest.blobs, ...manifest.children.flatMap(blobsOf)]
}

async function streamBlob(from: {url: string}, to: {url: string}, sourceRepo: string, repo: string, digest: string, size: number): Promise<number> {
  const [get, post] = await Promise.all([fetch(`${from.url}/v2/${sourceRepo}/blobs/${digest}`), fetch(`${to.url}/v2/${repo}/blobs/uploads/`, {method: 'POST'})])
  await post.body?.cancel()
  const location = new URL(post.headers.get('location')!, to.url)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, {method: 'PUT', body: get.body, headers: {'content-length': String(size), 'content-type': 'application/octet-stream'}})
  await put.body?.cancel()
  if (put.status !== 201) throw new Error(`baseline blob PUT ${put.status}`)
  return size
}

async function putManifest(to: {url: string}, repo: string, reference: string, manifest: ReadManifest): Promise<void> {
  const put = await fetch(`${to.url}/v2/${repo}/manifests/${reference}`, {method: 'PUT', body: manifest.bytes, headers: {'content-type': manifest.mediaType}})
  await put.body?.cancel()
  if (put.status !== 201) throw new Error(`baseline manifest PUT ${repo}:${reference} ${put.status}`)
}
