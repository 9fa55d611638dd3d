import {describe, expect, test} from 'bun:test'
import {sha256Digest} from '../ref/digest.ts'
import {parseManifest} from './manifest.ts'
import {MediaType} from './media-types.ts'
import {subsetIndex} from './subset-index.ts'

const D = (c: string) => `sha256:${c.repeat(64)}`
const image = (digest: string, os: string, architecture: string, variant?: string) => ({
  mediaType: MediaType.OciManifest,
  digest,
  size: 700,
  platform: {architecture, os, ...(variant ? {variant} : {})},
})
const attestation = (digest: string, about: string) => ({
  mediaType: MediaType.OciManifest,
  digest,
  size: 800,
  annotations: {'vnd.docker.reference.digest': about, 'vnd.docker.reference.type': 'attestation-manifest'},
  platform: {architecture: 'unknown', os: 'unknown'},
})
const SOURCE = {
  manifests: [
    image(D('a'), 'linux', 'amd64'),
    image(D('b'), 'linux', 'arm64', 'v8'),
    image(D('c'), 'linux', 'arm', 'v7'),
    attestation(D('d'), D('a')),
    attestation(D('e'), D('b')),
    attestation(D('f'), D('c')),
  ],
  annotations: {'org.opencontainers.image.source': 'https://example.invalid/app'},
}

describe('subsetIndex', () => {
  test('keeps exactly the platforms asked for and their attestations, descriptors unchanged, annotations kept', () => {
    const subset = subsetIndex(MediaType.OciIndex, SOURCE, ['linux/amd64', 'linux/arm64'])
    if (subset.kind !== 'subset') throw new Error('expected a subset')
    const parsed = parseManifest(subset.bytes, subset.mediaType)
    if (parsed.kind !== 'index') throw new Error('expected an index')
    expect(parsed.index.manifests).toEqual([SOURCE.manifests[0]!, SOURCE.manifests[1]!, SOURCE.manifests[3]!, SOURCE.manifests[4]!])
    expect(parsed.index.annotations).toEqual(SOURCE.annotations)
    expect(parsed.index.mediaType).toBe(MediaType.OciIndex)
    expect(subset.digest).toBe(sha256Digest(subset.bytes))
  })

  test('deterministic: the order of the request and repeated runs do not change a byte', () => {
    const a = subsetIndex(MediaType.OciIndex, SOURCE, ['linux/amd64', 'linux/arm64'])
    const b = subsetIndex(MediaType.OciIndex, structuredClone(SOURCE), ['linux/arm64', 'linux/amd64'])
    expect(a.kind === 'subset' && b.kind === 'subset' && a.digest === b.digest).toBe(true)
  })

  test('the exact serialisation: compact JSON, schemaVersion, mediaType, manifests, annotations', () => {
    const subset = subsetIndex(MediaType.DockerManifestList, {manifests: [SOURCE.manifests[0]!]}, ['linux/amd64'])
    if (subset.kind !== 'subset') throw new Error('expected a subset')
    expect(new TextDecoder().decode(subset.bytes)).toBe(
      `{"schemaVersion":2,"mediaType":"${MediaType.DockerManifestList}","manifests":[{"mediaType":"${MediaType.OciManifest}","digest":"${D('a')}","size":700,"platform":{"architecture":"amd64","os":"linux"}}]}`,
    )
  })

  test('a variant-less request keeps each matching variant (linux/arm64 is arm64/v8)', () => {
    const subset = subsetIndex(MediaType.OciIndex, SOURCE, ['linux/arm64', 'linux/arm'])
    expect(subset.kind === 'subset' && subset.kept.map((d) => d.digest)).toEqual([D('b'), D('c'), D('e'), D('f')])
  })

  test('a platform the index lacks is named, with what it offers', () => {
    expect(subsetIndex(MediaType.OciIndex, SOURCE, ['linux/amd64', 'linux/arm/v6', 'linux/s390x'])).toEqual({
      kind: 'missing',
      missing: ['linux/arm/v6', 'linux/s390x'],
      offered: ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'],
    })
  })

  test('an attestation about a dropped platform, or of another type, is not kept', () => {
    const other = {...attestation(D('9'), D('a')), annotations: {'vnd.docker.reference.digest': D('a'), 'vnd.docker.reference.type': 'something-else'}}
    const subset = subsetIndex(MediaType.OciIndex, {manifests: [...SOURCE.manifests, other]}, ['linux/arm64', 'linux/arm/v7'])
    expect(subset.kind === 'subset' && subset.kept.map((d) => d.digest)).toEqual([D('b'), D('c'), D('e'), D('f')])
  })
})
