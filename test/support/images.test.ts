/** The image builders: exact media types, consistent digests and sizes, determinism by seed. */
import {describe, expect, test} from 'bun:test'
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {ATTESTATION_LAYER_MEDIA_TYPE, makeImage, makeIndex, pseudoRandomBytes} from './images.ts'

const decode = (bytes: Uint8Array): any => JSON.parse(new TextDecoder().decode(bytes))

describe('makeImage', () => {
  test('docker flavour: Docker media types, descriptors match the blobs', () => {
    const image = makeImage({flavor: 'docker', layers: 3, layerSize: 100, seed: 'x'})
    const manifest = decode(image.bytes)
    expect(image.mediaType).toBe(MediaType.DockerManifest)
    expect(manifest.mediaType).toBe(MediaType.DockerManifest)
    expect(manifest.config).toEqual({
      mediaType: MediaType.DockerConfig,
      digest: image.config.digest,
      size: image.config.bytes.length,
    })
    expect(manifest.layers).toHaveLength(3)
    for (const [i, layer] of image.layers.entries()) {
      expect(layer.bytes.length).toBe(100)
      expect(layer.digest).toBe(sha256Digest(layer.bytes))
      expect(manifest.layers[i]).toEqual({mediaType: MediaType.DockerLayerGzip, digest: layer.digest, size: 100})
    }
    expect(image.digest).toBe(sha256Digest(image.bytes))
  })

  test('oci flavour: OCI media types; config carries the platform', () => {
    const image = makeImage({flavor: 'oci', platform: {os: 'linux', architecture: 'arm', variant: 'v7'}})
    expect(image.mediaType).toBe(MediaType.OciManifest)
    expect(image.config.mediaType).toBe(MediaType.OciConfig)
    expect(image.layers.every((layer) => layer.mediaType === MediaType.OciLayerGzip)).toBe(true)
    expect(decode(image.config.bytes)).toMatchObject({os: 'linux', architecture: 'arm', variant: 'v7'})
    expect(image.platform).toEqual({os: 'linux', architecture: 'arm', variant: 'v7'})
  })

  test('same seed, same image; different or no seed, different image', () => {
    const a = makeImage({flavor: 'oci', seed: 'same'})
    expect(makeImage({flavor: 'oci', seed: 'same'}).digest).toBe(a.digest)
    expect(makeImage({flavor: 'oci', seed: 'other'}).digest).not.toBe(a.digest)
    expect(makeImage({flavor: 'oci'}).digest).not.toBe(makeImage({flavor: 'oci'}).digest)
    expect(pseudoRandomBytes('s', 1000)).toEqual(pseudoRandomBytes('s', 1000))
    expect(pseudoRandomBytes('s', 70).length).toBe(70)
  })
})

describe('makeIndex', () => {
  const platforms = [
    {os: 'linux', architecture: 'amd64'},
    {os: 'linux', architecture: 'arm64', variant: 'v8'},
  ]

  test('oci flavour with attestations: buildx layout', () => {
    const index = makeIndex({flavor: 'oci', platforms, attestation: true, seed: 'i'})
    const json = decode(index.bytes)
    expect(index.mediaType).toBe(MediaType.OciIndex)
    expect(json.mediaType).toBe(MediaType.OciIndex)
    expect(index.children).toHaveLength(4)
    expect(index.attestations).toHaveLength(2)
    expect(json.manifests).toHaveLength(4)
    for (const [i, child] of index.children.entries()) {
      const {mediaType, digest, bytes} = child
      expect(json.manifests[i]).toMatchObject({mediaType, digest, size: bytes.length})
    }
    expect(json.manifests[0].platform).toEqual(platforms[0])
    expect(json.manifests[1].platform).toEqual(platforms[1])
    for (const i of [0, 1]) {
      expect(json.manifests[2 + i]).toMatchObject({
        platform: {os: 'unknown', architecture: 'unknown'},
        annotations: {
          'vnd.docker.reference.type': 'attestation-manifest',
          'vnd.docker.reference.digest': index.children[i]!.digest,
        },
      })
    }
    expect(index.attestations[0]!.mediaType).toBe(MediaType.OciManifest)
    expect(index.attestations[0]!.layers[0]!.mediaType).toBe(ATTESTATION_LAYER_MEDIA_TYPE)
    expect(index.digest).toBe(sha256Digest(index.bytes))
  })

  test('docker flavour: a manifest list of Docker images; same seed, same digest', () => {
    const list = makeIndex({flavor: 'docker', platforms, seed: 'l'})
    expect(list.mediaType).toBe(MediaType.DockerManifestList)
    expect(list.children.map((child) => child.mediaType)).toEqual([MediaType.DockerManifest, MediaType.DockerManifest])
    expect(makeIndex({flavor: 'docker', platforms, seed: 'l'}).digest).toBe(list.digest)
    expect(makeIndex({flavor: 'docker', platforms, seed: 'm'}).digest).not.toBe(list.digest)
  })
})
