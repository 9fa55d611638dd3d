import {describe, expect, test} from 'bun:test'
import {parseManifest} from '../../oci/manifest.ts'
import {MediaType} from '../../oci/media-types.ts'
import {childrenOf, detectMediaType} from './manifests.ts'

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const digest = (c: string) => `sha256:${c.repeat(64)}`

describe('detectMediaType', () => {
  const cases: [string, unknown, string | null][] = [
    [
      'a declared media type wins (parameters dropped)',
      {schemaVersion: 2, mediaType: `${MediaType.DockerManifest}; charset=utf-8`, config: {}, layers: []},
      MediaType.DockerManifest,
    ],
    ['an OCI index without mediaType, by shape', {schemaVersion: 2, manifests: []}, MediaType.OciIndex],
    ['an OCI manifest without mediaType, by shape', {schemaVersion: 2, config: {}, layers: []}, MediaType.OciManifest],
    ['an image config is not a manifest', {architecture: 'amd64', os: 'linux', rootfs: {}}, null],
    ['schema 1 is not ours to detect', {schemaVersion: 1, fsLayers: []}, null],
    ['JSON that is not an object', [1, 2], null],
  ]
  for (const [name, value, want] of cases) test(name, () => expect(detectMediaType(encode(value))).toBe(want))
  test('bytes that are not JSON (a layer)', () => expect(detectMediaType(new Uint8Array([0x1f, 0x8b, 8, 0]))).toBeNull())
})

describe('childrenOf', () => {
  test('an image: config and layers, but not foreign layers nor the subject', () => {
    const d = (c: string, extra = {}) => ({mediaType: MediaType.OciLayerGzip, digest: digest(c), size: 1, ...extra})
    const parsed = parseManifest(
      encode({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: d('a'),
        layers: [d('b'), d('c', {urls: ['https://example.invalid/c']})],
        subject: d('e'),
      }),
      MediaType.OciManifest,
    )
    expect(childrenOf(parsed).map((x) => x.digest)).toStrictEqual([digest('a'), digest('b')])
  })

  test('an index: its manifests', () => {
    const parsed = parseManifest(
      encode({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{mediaType: MediaType.OciManifest, digest: digest('f'), size: 2}]}),
      MediaType.OciIndex,
    )
    expect(childrenOf(parsed).map((x) => x.digest)).toStrictEqual([digest('f')])
  })
})
