/**
 * The same protocol checks against the real docker-registry and the fake one. Passing on both is what lets other
 * tests trust the fake: wherever the two disagree, this file is where it shows up first.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {MANIFEST_ACCEPT, MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {startFakeRegistry} from './fake-registry/index.ts'
import {type Image, type Index, getManifest, headManifest, makeImage, makeIndex, pushBlob, pushImage, pushIndex} from './images.ts'
import {startRealRegistry} from './real-registry.ts'

setDefaultTimeout(15_000)

interface Started {
  url: string
  host: string
  stop(): Promise<void>
}

const KINDS: [string, () => Promise<Started>][] = [
  ['real docker-registry', startRealRegistry],
  ['fake registry', () => startFakeRegistry()],
]

for (const [kind, start] of KINDS) {
  describe(kind, () => {
    let registry: Started
    const index: Index = makeIndex({
      flavor: 'oci',
      platforms: [
        {os: 'linux', architecture: 'amd64'},
        {os: 'linux', architecture: 'arm64', variant: 'v8'},
      ],
      attestation: true,
      seed: 'conformance-index',
    })
    const single: Image = makeImage({flavor: 'docker', seed: 'conformance-single'})

    beforeAll(async () => {
      registry = await start()
      expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(registry.url).toBe(`http://${registry.host}`)
      expect(await pushIndex(registry.url, 'team/app/multi', index, 'v1')).toBe(index.digest)
      expect(await pushImage(registry.url, 'team/app/single', single, 'latest')).toBe(single.digest)
    })
    afterAll(() => registry?.stop())

    test('GET /v2/ answers 200', async () => {
      const response = await fetch(`${registry.url}/v2/`)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({})
    })

    test('an OCI index reads back byte for byte, by tag and by digest', async () => {
      for (const reference of ['v1', index.digest]) {
        const got = await getManifest(registry.url, 'team/app/multi', reference)
        expect(got.status).toBe(200)
        expect(got.digest).toBe(index.digest)
        expect(got.mediaType).toBe(MediaType.OciIndex)
        expect(Buffer.from(got.bytes).equals(Buffer.from(index.bytes))).toBe(true)
        expect(sha256Digest(got.bytes)).toBe(index.digest)
      }
    })

    test('HEAD gives digest, media type and the real Content-Length', async () => {
      const head = await headManifest(registry.url, 'team/app/multi', 'v1')
      expect(head).toEqual({status: 200, digest: index.digest, mediaType: MediaType.OciIndex, size: index.bytes.length})
      const docker = await headManifest(registry.url, 'team/app/single', 'latest')
      expect(docker).toEqual({
        status: 200,
        digest: single.digest,
        mediaType: MediaType.DockerManifest,
        size: single.bytes.length,
      })
    })

    test('children (images and attestations) and blobs read back byte for byte', async () => {
      expect(index.children).toHaveLength(4)
      for (const child of index.children) {
        const got = await getManifest(registry.url, 'team/app/multi', child.digest)
        expect(got.status).toBe(200)
        expect(got.digest).toBe(child.digest)
        expect(got.mediaType).toBe(MediaType.OciManifest)
        expect(Buffer.from(got.bytes).equals(Buffer.from(child.bytes))).toBe(true)
        for (const blob of [child.config, ...child.layers]) {
          const response = await fetch(`${registry.url}/v2/team/app/multi/blobs/${blob.digest}`)
          expect(response.status).toBe(200)
          expect(response.headers.get('docker-content-digest')).toBe(blob.digest)
          expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(blob.bytes))).toBe(true)
        }
      }
    })

    test('a Docker image reads back byte for byte', async () => {
      const got = await getManifest(registry.url, 'team/app/single', 'latest')
      expect(got.digest).toBe(single.digest)
      expect(got.mediaType).toBe(MediaType.DockerManifest)
      expect(Buffer.from(got.bytes).equals(Buffer.from(single.bytes))).toBe(true)
    })

    test('pushing again is idempotent, and tags list', async () => {
      await pushIndex(registry.url, 'team/app/multi', index, 'v2')
      const response = await fetch(`${registry.url}/v2/team/app/multi/tags/list`)
      expect(await response.json()).toEqual({name: 'team/app/multi', tags: ['v1', 'v2']})
    })

    test('unknown manifest: 404 MANIFEST_UNKNOWN', async () => {
      const response = await fetch(`${registry.url}/v2/team/app/multi/manifests/nope`, {
        headers: {Accept: MANIFEST_ACCEPT},
      })
      expect(response.status).toBe(404)
      const body = (await response.json()) as {errors: {code: string}[]}
      expect(body.errors[0]?.code).toBe('MANIFEST_UNKNOWN')
    })

    test('an index whose children are missing is refused with MANIFEST_BLOB_UNKNOWN', async () => {
      const orphan = makeIndex({flavor: 'oci', platforms: [{os: 'linux', architecture: 'amd64'}], seed: 'orphan'})
      const response = await fetch(`${registry.url}/v2/orphans/manifests/v1`, {
        method: 'PUT',
        body: orphan.bytes,
        headers: {'Content-Type': orphan.mediaType},
      })
      expect(response.status).toBe(400)
      const body = (await response.json()) as {errors: {code: string}[]}
      expect(body.errors[0]?.code).toBe('MANIFEST_BLOB_UNKNOWN')
    })

    test('an upload with the wrong digest is refused with DIGEST_INVALID', async () => {
      const start = await fetch(`${registry.url}/v2/uploads/blobs/uploads/`, {method: 'POST'})
      expect(start.status).toBe(202)
      const location = new URL(start.headers.get('location')!, registry.url)
      location.searchParams.set('digest', sha256Digest('something else'))
      const put = await fetch(location, {method: 'PUT', body: 'hello'})
      expect(put.status).toBe(400)
      expect(((await put.json()) as {errors: {code: string}[]}).errors[0]?.code).toBe('DIGEST_INVALID')
    })

    test('mount: 201 when the source repository has the blob, 202 (an upload) when it does not', async () => {
      const layer = index.children[0]!.layers[0]!
      const mounted = await fetch(`${registry.url}/v2/mirror/blobs/uploads/?mount=${layer.digest}&from=team/app/multi`, {method: 'POST'})
      expect(mounted.status).toBe(201)
      expect(mounted.headers.get('docker-content-digest')).toBe(layer.digest)
      expect((await fetch(`${registry.url}/v2/mirror/blobs/${layer.digest}`, {method: 'HEAD'})).status).toBe(200)

      const missing = sha256Digest('not there')
      const refused = await fetch(`${registry.url}/v2/mirror/blobs/uploads/?mount=${missing}&from=team/app/multi`, {
        method: 'POST',
      })
      expect(refused.status).toBe(202)
      const location = new URL(refused.headers.get('location')!, registry.url)
      expect((await fetch(location, {method: 'DELETE'})).status).toBe(204)
    })

    test('Accept: an OCI index is not served to a client that does not accept it', async () => {
      const response = await fetch(`${registry.url}/v2/team/app/multi/manifests/v1`, {
        headers: {Accept: MediaType.DockerManifest},
      })
      expect(response.status).toBe(404)
    })

    test('Accept: a Docker list asked for with only the v2 type yields the linux/amd64 child', async () => {
      const list = makeIndex({
        flavor: 'docker',
        platforms: [
          {os: 'linux', architecture: 'arm', variant: 'v7'},
          {os: 'linux', architecture: 'amd64'},
        ],
        seed: 'docker-list',
      })
      await pushIndex(registry.url, 'team/list', list, 'v1')
      const full = await getManifest(registry.url, 'team/list', 'v1')
      expect(full.digest).toBe(list.digest)
      expect(full.mediaType).toBe(MediaType.DockerManifestList)
      const response = await fetch(`${registry.url}/v2/team/list/manifests/v1`, {
        headers: {Accept: MediaType.DockerManifest},
      })
      expect(response.status).toBe(200)
      expect(response.headers.get('docker-content-digest')).toBe(list.children[1]!.digest)
      await response.arrayBuffer()
    })

    test('pushBlob skips blobs the registry already has', async () => {
      await pushBlob(registry.url, 'team/app/single', single.config)
      const head = await fetch(`${registry.url}/v2/team/app/single/blobs/${single.config.digest}`, {method: 'HEAD'})
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe(String(single.config.bytes.length))
    })
  })
}
