/**
 * Reading what a manifest holds for the plan (an index's children, a single manifest's platform and blob sizes), once per
 * repository and digest per run, from wherever it costs nothing: the target when it already holds the digest,
 * the source otherwise. Every source manifest GET is a Docker Hub pull; HEAD, blob GETs and the target are free.
 */
import {platformOfConfig} from '../oci/image-config.ts'
import {storedBlobsOf} from '../copy/references.ts'
import {artifactTypeOf, ManifestError, parseManifest} from '../oci/manifest.ts'
import {isImageManifest, isIndex} from '../oci/media-types.ts'
import type {Platform} from '../oci/platform.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import type {ManifestBytes} from '../registry/handle.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import type {SourceContent} from './observation.ts'

/** An image config is a few KiB; 1 MiB leaves room for huge label sets and still bounds memory. */
const MAX_CONFIG_BYTES = 1024 * 1024

export class ContentReader {
  private readonly read = new Map<string, Promise<SourceContent>>()
  /** Platforms by repository and config digest: images built from one base often share a config (a failed read is asked again). */
  private readonly platforms = new Map<string, Promise<Platform | null>>()

  /**
   * What `digest` (announced as `mediaType`) holds in `repo`. `known`: its bytes, when a GET of the tag already
   * brought them (the target's), so no manifest request is made at all. Same repository and digest: one read.
   */
  contentOf(repo: RepositoryHandle, digest: Digest, mediaType: string, known: ManifestBytes | null, signal?: AbortSignal): Promise<SourceContent> {
    const key = `${repo.name}@${digest}`
    let content = this.read.get(key)
    if (!content) {
      content = this.load(repo, digest, mediaType, known, signal)
      this.read.set(key, content)
    }
    return content
  }

  private async load(repo: RepositoryHandle, digest: Digest, mediaType: string, known: ManifestBytes | null, signal?: AbortSignal): Promise<SourceContent> {
    if (!isIndex(mediaType) && !isImageManifest(mediaType)) {
      // Schema 1 and unknown types are refused with the parser's sentence, which names the type.
      const bytes = known ?? (await repo.getManifest(digest, {signal}))
      parseManifest(bytes.bytes, bytes.mediaType)
      throw new ManifestError('UNSUPPORTED_MEDIA_TYPE', `unsupported manifest media type "${mediaType}"`)
    }
    const parsed = known ? parseManifest(known.bytes, known.mediaType) : (await repo.getManifest(digest, {signal})).parsed
    if (isIndex(mediaType)) {
      if (parsed.kind !== 'index') throw new ManifestError('INVALID_MANIFEST', `${digest} was announced as an index but is not one`)
      return {kind: 'index', manifests: parsed.index.manifests, ...(parsed.index.annotations ? {annotations: parsed.index.annotations} : {})}
    }
    if (parsed.kind !== 'image') throw new ManifestError('INVALID_MANIFEST', `${digest} was announced as an image manifest but is not one`)
    // What copying its blobs moves, by the sizes it lists (the manifest's word: only for balancing shards).
    const bytes = storedBlobsOf(parsed.manifest).reduce((sum, blob) => sum + blob.descriptor.size, 0)
    // An artifact's config says no platform (and may be large): it is not read.
    const artifactType = artifactTypeOf(parsed.manifest)
    if (artifactType !== null) return {kind: 'artifact', artifactType, bytes}
    const configDigest = parsed.manifest.config.digest
    return {kind: 'image', platform: isDigest(configDigest) ? await this.platformOf(repo, configDigest, signal) : null, bytes}
  }

  private platformOf(repo: RepositoryHandle, config: Digest, signal?: AbortSignal): Promise<Platform | null> {
    const key = `${repo.name}@${config}`
    let platform = this.platforms.get(key)
    if (!platform) {
      const pending = repo.getSmallBlob(config, MAX_CONFIG_BYTES, {signal}).then(platformOfConfig)
      pending.catch(() => this.platforms.get(key) === pending && this.platforms.delete(key))
      this.platforms.set(key, pending)
      platform = pending
    }
    return platform
  }
}
