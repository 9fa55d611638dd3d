import {describe, expect, test} from 'bun:test'
import {artifactTypeOf, type Manifest, ManifestError, parseManifest} from './manifest.ts'
import {MediaType} from './media-types.ts'

const D = (c: string) => `sha256:${c.repeat(64)}`
const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))

const descriptor = (mediaType: string, digest: string, extra: Record<string, unknown> = {}) => ({mediaType, digest, size: 527, ...extra})

const OCI_INDEX = {
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    descriptor(MediaType.OciManifest, D('a'), {platform: {os: 'linux', architecture: 'amd64'}}),
    descriptor(MediaType.OciManifest, D('b'), {platform: {os: 'linux', architecture: 'arm64', variant: 'v8'}}),
    descriptor(MediaType.OciManifest, D('c'), {
      platform: {os: 'unknown', architecture: 'unknown'},
      annotations: {'vnd.docker.reference.type': 'attestation-manifest'},
    }),
  ],
}
const DOCKER_LIST = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifestList,
  manifests: [descriptor(MediaType.DockerManifest, D('a'), {platform: {os: 'linux', architecture: 'amd64'}})],
}
const OCI_MANIFEST = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: descriptor(MediaType.OciConfig, D('1')),
  layers: [descriptor(MediaType.OciLayerGzip, D('2')), descriptor(MediaType.OciLayerZstd, D('3'))],
  annotations: {'org.opencontainers.image.created': '2024-01-01T00:00:00Z'},
}
const DOCKER_MANIFEST = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifest,
  config: descriptor(MediaType.DockerConfig, D('1')),
  layers: [descriptor(MediaType.DockerLayerGzip, D('2'))],
}

function manifestError(fn: () => unknown): ManifestError {
  try {
    fn()
  } catch (error) {
    if (error instanceof ManifestError) return error
    throw new Error(`threw ${String(error)}, want a ManifestError`)
  }
  throw new Error('parsed, want a ManifestError')
}

describe('parseManifest accepts', () => {
  const cases: {name: string; body: unknown; contentType: string; kind: 'index' | 'image'; mediaType: string}[] = [
    {name: 'an OCI index', body: OCI_INDEX, contentType: MediaType.OciIndex, kind: 'index', mediaType: MediaType.OciIndex},
    {name: 'a Docker manifest list', body: DOCKER_LIST, contentType: MediaType.DockerManifestList, kind: 'index', mediaType: MediaType.DockerManifestList},
    {name: 'an OCI manifest', body: OCI_MANIFEST, contentType: MediaType.OciManifest, kind: 'image', mediaType: MediaType.OciManifest},
    {name: 'a Docker v2 manifest', body: DOCKER_MANIFEST, contentType: MediaType.DockerManifest, kind: 'image', mediaType: MediaType.DockerManifest},
    // OCI makes the body's mediaType optional: the served type decides.
    {
      name: 'an OCI index without mediaType in the body',
      body: {...OCI_INDEX, mediaType: undefined},
      contentType: MediaType.OciIndex,
      kind: 'index',
      mediaType: MediaType.OciIndex,
    },
    {
      name: 'an OCI manifest without mediaType in the body',
      body: {...OCI_MANIFEST, mediaType: undefined},
      contentType: MediaType.OciManifest,
      kind: 'image',
      mediaType: MediaType.OciManifest,
    },
    {
      name: 'a Content-Type with parameters and odd case',
      body: OCI_MANIFEST,
      contentType: 'Application/VND.oci.image.manifest.v1+json; charset=utf-8',
      kind: 'image',
      mediaType: MediaType.OciManifest,
    },
    {
      name: 'an index with unknown extra fields',
      body: {...OCI_INDEX, 'x-vendor': {anything: true}},
      contentType: MediaType.OciIndex,
      kind: 'index',
      mediaType: MediaType.OciIndex,
    },
  ]
  for (const {name, body, contentType, kind, mediaType} of cases) {
    test(name, () => {
      const parsed = parseManifest(bytes(body), contentType)
      expect(parsed.kind).toBe(kind)
      expect(parsed.mediaType).toBe(mediaType)
      const roundTrip = JSON.parse(JSON.stringify(body))
      if (parsed.kind === 'index') expect(parsed.index).toStrictEqual(roundTrip)
      else expect(parsed.manifest).toStrictEqual(roundTrip)
    })
  }

  test('index descriptors keep their platforms', () => {
    const parsed = parseManifest(bytes(OCI_INDEX), MediaType.OciIndex)
    if (parsed.kind !== 'index') throw new Error('want an index')
    expect(parsed.index.manifests.map((m) => m.platform)).toStrictEqual([
      {os: 'linux', architecture: 'amd64'},
      {os: 'linux', architecture: 'arm64', variant: 'v8'},
      {os: 'unknown', architecture: 'unknown'},
    ])
  })
})

describe('parseManifest refuses', () => {
  const cases: {name: string; body: unknown; contentType: string; code: ManifestError['code']; message: string | RegExp}[] = [
    {
      name: 'Docker schema 1',
      body: {schemaVersion: 1, name: 'library/busybox', tag: '1', fsLayers: []},
      contentType: MediaType.DockerSchema1,
      code: 'SCHEMA1_UNSUPPORTED',
      message: `Docker schema 1 manifests (${MediaType.DockerSchema1}) are not supported: re-push the image with a current builder`,
    },
    {
      name: 'signed Docker schema 1',
      body: {schemaVersion: 1, signatures: []},
      contentType: MediaType.DockerSchema1Signed,
      code: 'SCHEMA1_UNSUPPORTED',
      message: `Docker schema 1 manifests (${MediaType.DockerSchema1Signed}) are not supported: re-push the image with a current builder`,
    },
    {
      name: 'schema 1 even when the body is not JSON',
      body: 'not json',
      contentType: MediaType.DockerSchema1Signed,
      code: 'SCHEMA1_UNSUPPORTED',
      message: /^Docker schema 1 manifests/,
    },
    {
      name: 'a body declaring an OCI index served as a Docker manifest list',
      body: OCI_INDEX,
      contentType: MediaType.DockerManifestList,
      code: 'INVALID_MANIFEST',
      message: `manifest is served as ${MediaType.DockerManifestList} but declares ${MediaType.OciIndex}`,
    },
    {
      name: 'a body declaring an image manifest served as an index',
      body: OCI_MANIFEST,
      contentType: MediaType.OciIndex,
      code: 'INVALID_MANIFEST',
      message: `manifest is served as ${MediaType.OciIndex} but declares ${MediaType.OciManifest}`,
    },
    {
      name: 'an image manifest without mediaType served as an index',
      body: {...OCI_MANIFEST, mediaType: undefined},
      contentType: MediaType.OciIndex,
      code: 'INVALID_MANIFEST',
      message: new RegExp(`^invalid ${MediaType.OciIndex.replace(/[.+]/g, '\\$&')} manifest at /`),
    },
    {
      name: 'an image manifest without layers',
      body: {...OCI_MANIFEST, layers: undefined},
      contentType: MediaType.OciManifest,
      code: 'INVALID_MANIFEST',
      message: /^invalid application\/vnd\.oci\.image\.manifest\.v1\+json manifest at \//,
    },
    {
      name: 'a descriptor with a negative size',
      body: {...OCI_INDEX, manifests: [{...OCI_INDEX.manifests[0], size: -1}]},
      contentType: MediaType.OciIndex,
      code: 'INVALID_MANIFEST',
      message: /^invalid application\/vnd\.oci\.image\.index\.v1\+json manifest at \/manifests\/0\/size/,
    },
    {
      name: 'schemaVersion 1 in an OCI manifest',
      body: {...OCI_MANIFEST, schemaVersion: 1},
      contentType: MediaType.OciManifest,
      code: 'INVALID_MANIFEST',
      message: /^invalid application\/vnd\.oci\.image\.manifest\.v1\+json manifest at \/schemaVersion/,
    },
    {
      name: 'invalid JSON',
      body: '{"schemaVersion": 2,',
      contentType: MediaType.OciManifest,
      code: 'INVALID_MANIFEST',
      message: `manifest of type ${MediaType.OciManifest} is not valid JSON`,
    },
    {
      name: 'JSON null',
      body: 'null',
      contentType: MediaType.OciIndex,
      code: 'INVALID_MANIFEST',
      message: /^invalid application\/vnd\.oci\.image\.index\.v1\+json manifest/,
    },
    {
      name: 'an unknown media type',
      body: {...OCI_MANIFEST, mediaType: undefined},
      contentType: 'application/json',
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'unsupported manifest media type "application/json"',
    },
    {
      name: 'an artifact media type',
      body: {schemaVersion: 2},
      contentType: 'application/vnd.cncf.helm.config.v1+json',
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'unsupported manifest media type "application/vnd.cncf.helm.config.v1+json"',
    },
  ]
  for (const {name, body, contentType, code, message} of cases) {
    test(name, () => {
      const error = manifestError(() => parseManifest(bytes(body), contentType))
      expect(error.code).toBe(code)
      expect(error.name).toBe('ManifestError')
      if (typeof message === 'string') expect(error.message).toBe(message)
      else expect(error.message).toMatch(message)
    })
  }
})

describe('artifactTypeOf', () => {
  const manifest = (config: string, extra: Partial<Manifest> = {}): Manifest => ({
    schemaVersion: 2,
    config: descriptor(config, D('1')),
    layers: [descriptor(MediaType.OciLayerGzip, D('2'))],
    ...extra,
  })
  test('an image (OCI or Docker config) is no artifact', () => {
    expect(artifactTypeOf(manifest(MediaType.OciConfig))).toBeNull()
    expect(artifactTypeOf(manifest(`${MediaType.DockerConfig}; charset=utf-8`))).toBeNull()
  })
  test('a Helm chart is named by its config media type', () => {
    expect(artifactTypeOf(manifest('application/vnd.cncf.helm.config.v1+json'))).toBe('application/vnd.cncf.helm.config.v1+json')
  })
  test('artifactType wins over the config, even an empty or an image one', () => {
    expect(artifactTypeOf(manifest(MediaType.OciEmpty, {artifactType: 'application/vnd.example.sbom+json'}))).toBe('application/vnd.example.sbom+json')
    expect(artifactTypeOf(manifest(MediaType.OciConfig, {artifactType: 'application/vnd.example.thing'}))).toBe('application/vnd.example.thing')
  })
})
