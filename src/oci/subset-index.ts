/**
 * A platform subset of an index (definition `platforms:` with several platforms): a new index that lists exactly
 * the source's descriptors for those platforms, plus buildx's attestation manifests that refer to a kept one,
 * and nothing else. Pure and deterministic, so plan computes the bytes and digest that reviewers see and apply
 * computes them again from the same source index and refuses to write anything else.
 */
import {type Digest, sha256Digest} from '../ref/digest.ts'
import type {Descriptor, Index} from './manifest.ts'
import {formatPlatform, isUnknownPlatform, parsePlatform, platformMatches} from './platform.ts'

/** buildx's annotations on an attestation manifest: its type, and the digest of the image it is about. */
const REFERENCE_TYPE = 'vnd.docker.reference.type'
const REFERENCE_DIGEST = 'vnd.docker.reference.digest'

export type Subset =
  | {kind: 'subset'; bytes: Uint8Array; digest: Digest; mediaType: string; kept: Descriptor[]}
  /** Some requested platforms are not in the index: those, and what the index offers. */
  | {kind: 'missing'; missing: string[]; offered: string[]}

/** The platforms an index offers, as `os/arch/variant`, in index order, attestations left out. */
export function offeredPlatforms(manifests: readonly Descriptor[]): string[] {
  return [...new Set(manifests.filter((d) => !isUnknownPlatform(d.platform)).map((d) => formatPlatform(d.platform!)))]
}

/**
 * The index of `mediaType` listing the descriptors of `source` that match one of `platforms` (every match: a
 * request for linux/arm64 keeps linux/arm64 and linux/arm64/v8 alike), then the attestations about them, in
 * the source's order. Descriptors are kept as the source wrote them (same fields in the same order); the top
 * level is `schemaVersion`, `mediaType`, `manifests`, then the source's `annotations` when it has some.
 */
export function subsetIndex(mediaType: string, source: Pick<Index, 'manifests' | 'annotations'>, platforms: readonly string[]): Subset {
  const wanted = platforms.map((text) => ({text, platform: parsePlatform(text)}))
  const matches = (d: Descriptor) => !isUnknownPlatform(d.platform) && wanted.some((w) => w.platform !== null && platformMatches(w.platform, d.platform))
  const missing = wanted
    .filter((w) => w.platform === null || !source.manifests.some((d) => !isUnknownPlatform(d.platform) && platformMatches(w.platform!, d.platform)))
    .map((w) => w.text)
  if (missing.length) return {kind: 'missing', missing, offered: offeredPlatforms(source.manifests)}
  const images = new Set(source.manifests.filter(matches).map((d) => d.digest))
  const kept = source.manifests.filter((d) => images.has(d.digest) || isAttestationOf(d, images))
  const index = {schemaVersion: 2, mediaType, manifests: kept, ...(source.annotations !== undefined ? {annotations: source.annotations} : {})}
  const bytes = new TextEncoder().encode(JSON.stringify(index))
  return {kind: 'subset', bytes, digest: sha256Digest(bytes), mediaType, kept}
}

function isAttestationOf(d: Descriptor, images: ReadonlySet<string>): boolean {
  const about = d.annotations?.[REFERENCE_DIGEST]
  return d.annotations?.[REFERENCE_TYPE] === 'attestation-manifest' && about !== undefined && images.has(about)
}
