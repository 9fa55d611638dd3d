/**
 * Planning a platform selection (pure, part of the planner): one platform's manifest picked out of an index
 * (or a single manifest that is that platform), or a subset index computed here, so that the plan records the
 * exact digest apply must write.
 */
import type {Descriptor} from '../oci/manifest.ts'
import {baseMediaType, isImageManifest, isIndex} from '../oci/media-types.ts'
import {formatPlatform, parsePlatform, platformMatches} from '../oci/platform.ts'
import {offeredPlatforms, subsetIndex} from '../oci/subset-index.ts'
import type {Selection} from '../definition/resolve.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import {abbreviate, printable} from '../ref/text.ts'
import type {PlanEntry} from './model.ts'
import type {SourceContent} from './observation.ts'

export type PlatformFailure = 'no-linux-amd64' | 'not-linux-amd64' | 'platform-missing' | 'not-platform'

/** What the entry copies and where it comes from; the caller adds the action and the rest. */
export type Picked = Pick<PlanEntry, 'sourceDigest' | 'mediaType' | 'platforms' | 'selection'>

export type PickResult = {kind: 'picked'; picked: Picked} | {kind: PlatformFailure; message: string}

interface Source {
  digest: Digest
  mediaType: string
  content: SourceContent
}

export function pickSelection(selection: Exclude<Selection, {kind: 'whole'}>, source: Source, name: string): PickResult {
  return selection.kind === 'platform' ? pickOne(selection.platform, source, name) : pickSubset(selection.platforms, source, name)
}

/** The image manifest for `platform` in an index: the one written exactly so first, then one without a variant. */
export function pickPlatform(manifests: readonly Descriptor[], platform: string): {digest: Digest; mediaType: string} | null {
  const wanted = parsePlatform(platform)
  if (wanted === null) return null
  const candidates = manifests.filter((d) => platformMatches(wanted, d.platform) && isImageManifest(d.mediaType) && !isIndex(d.mediaType))
  const chosen = candidates.find((d) => formatPlatform(d.platform!) === platform) ?? candidates.find((d) => !d.platform?.variant) ?? candidates[0]
  // The descriptor's media type without parameters: the plan records a known type, not what the index wrote.
  return chosen && isDigest(chosen.digest) ? {digest: chosen.digest, mediaType: baseMediaType(chosen.mediaType)} : null
}

/** amd64Only's messages are kept as they were; other platforms say which `platforms:` asked. */
function asked(platform: string): string {
  return platform === 'linux/amd64' ? 'amd64Only is set' : `platforms is [${platform}]`
}

function pickOne(platform: string, {digest, mediaType, content}: Source, name: string): PickResult {
  const amd64 = platform === 'linux/amd64'
  if (content.kind === 'artifact') return notAnImage(content.artifactType, amd64 ? 'not-linux-amd64' : 'not-platform', asked(platform), name)
  if (content.kind === 'image') {
    const wanted = parsePlatform(platform)
    if (wanted === null || !platformMatches(wanted, content.platform ?? undefined)) {
      const got = content.platform ? formatPlatform(content.platform) : 'an unknown platform'
      return {kind: amd64 ? 'not-linux-amd64' : 'not-platform', message: `${asked(platform)} but ${name} is a single manifest for ${got}, not ${platform}`}
    }
    return {kind: 'picked', picked: {sourceDigest: digest, mediaType, platforms: [platform], selection: {kind: 'platform', platform, indexDigest: null}}}
  }
  const picked = pickPlatform(content.manifests, platform)
  if (!picked) {
    const available = offeredPlatforms(content.manifests)
    return {
      kind: amd64 ? 'no-linux-amd64' : 'platform-missing',
      message: `${asked(platform)} but the index of ${name} has no ${platform} manifest (it has ${available.join(', ') || 'no platforms'})`,
    }
  }
  return {
    kind: 'picked',
    picked: {sourceDigest: picked.digest, mediaType: picked.mediaType, platforms: [platform], selection: {kind: 'platform', platform, indexDigest: digest}},
  }
}

/** Several platforms: the new index's digest is what the target tag gets, so it is the entry's sourceDigest. */
function pickSubset(platforms: string[], {digest, mediaType, content}: Source, name: string): PickResult {
  if (content.kind === 'artifact') return notAnImage(content.artifactType, 'not-platform', `platforms is [${platforms.join(', ')}]`, name)
  if (content.kind === 'image') {
    const got = content.platform ? formatPlatform(content.platform) : 'an unknown platform'
    return {
      kind: 'not-platform',
      message: `platforms is [${platforms.join(', ')}] but ${name} is a single manifest for ${got}, not an index of several platforms`,
    }
  }
  const subset = subsetIndex(mediaType, content, platforms)
  if (subset.kind === 'missing') {
    return {
      kind: 'platform-missing',
      message: `platforms asks for ${subset.missing.join(', ')}, which the index of ${name} does not have (it has ${subset.offered.join(', ') || 'no platforms'})`,
    }
  }
  return {
    kind: 'picked',
    picked: {sourceDigest: subset.digest, mediaType, platforms, selection: {kind: 'platforms', platforms, indexDigest: digest, digest: subset.digest}},
  }
}

/** A platform asked of an artifact: it has none, and copying it whole loses nothing. */
function notAnImage(artifactType: string, kind: PlatformFailure, what: string, name: string): PickResult {
  return {
    kind,
    message: `${what} but ${name} is an artifact (${abbreviate(printable(artifactType))}), not a container image: it has no platforms to pick; only a whole copy (neither amd64Only nor platforms) mirrors it`,
  }
}
