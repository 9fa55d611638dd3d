/**
 * In-memory content store for the fake registry: per repository, blobs by digest, manifests by digest (exact
 * bytes plus the media type they were pushed with) and tags. Scoping everything per repository matters: a blob
 * pushed to `a` is unknown to `b` until it is mounted or uploaded there, which is what makes mount tests meaningful.
 *
 * Methods here do no protocol validation; that lives in the HTTP handlers, so tests can seed content a real
 * registry would refuse (a schema 1 manifest, an index with a missing child).
 */
import {type Digest, digestAlgorithm, digestOf, isDigest} from '../../../src/ref/digest.ts'

/** Repository names, from the distribution spec: path components joined by `/`. */
export const NAME_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/

export interface StoredManifest {
  digest: Digest
  bytes: Uint8Array
  mediaType: string
}

export interface Repository {
  blobs: Map<Digest, Uint8Array>
  manifests: Map<Digest, StoredManifest>
  tags: Map<string, Digest>
}

export interface UploadSession {
  id: string
  repo: string
  chunks: Uint8Array[]
  size: number
}

export class Storage {
  readonly repositories = new Map<string, Repository>()
  readonly uploads = new Map<string, UploadSession>()

  repository(name: string): Repository | undefined {
    return this.repositories.get(name)
  }

  private ensure(name: string): Repository {
    let repo = this.repositories.get(name)
    if (!repo) {
      repo = {blobs: new Map(), manifests: new Map(), tags: new Map()}
      this.repositories.set(name, repo)
    }
    return repo
  }

  putBlob(repo: string, bytes: Uint8Array): Digest {
    const digest = digestOf(bytes)
    this.ensure(repo).blobs.set(digest, bytes)
    return digest
  }

  getBlob(repo: string, digest: string): Uint8Array | undefined {
    return isDigest(digest) ? this.repositories.get(repo)?.blobs.get(digest) : undefined
  }

  hasBlob(repo: string, digest: string): boolean {
    return this.getBlob(repo, digest) !== undefined
  }

  deleteBlob(repo: string, digest: string): boolean {
    return isDigest(digest) && (this.repositories.get(repo)?.blobs.delete(digest) ?? false)
  }

  /** Links a blob another repository already has; false when `from` lacks it. */
  mountBlob(repo: string, from: string, digest: string): boolean {
    const bytes = this.getBlob(from, digest)
    if (!bytes || !isDigest(digest)) return false
    this.ensure(repo).blobs.set(digest, bytes)
    return true
  }

  /**
   * Stores manifest bytes verbatim. `reference` is a tag (the tag then points at the new digest) or the digest
   * itself. The digest uses sha256 unless the reference is a sha512 digest.
   */
  putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Digest {
    const digest = isDigest(reference) ? digestOf(bytes, digestAlgorithm(reference)) : digestOf(bytes)
    const repository = this.ensure(repo)
    repository.manifests.set(digest, {digest, bytes, mediaType})
    if (!isDigest(reference)) repository.tags.set(reference, digest)
    return digest
  }

  /** A tag or a digest; undefined when unknown. */
  getManifest(repo: string, reference: string): StoredManifest | undefined {
    const repository = this.repositories.get(repo)
    if (!repository) return undefined
    const digest = isDigest(reference) ? reference : repository.tags.get(reference)
    return digest ? repository.manifests.get(digest) : undefined
  }

  /** By digest: the manifest and every tag on it. By tag: only the tag (OCI distribution 1.1 semantics). */
  deleteManifest(repo: string, reference: string): boolean {
    const repository = this.repositories.get(repo)
    if (!repository) return false
    if (!isDigest(reference)) return repository.tags.delete(reference)
    if (!repository.manifests.delete(reference)) return false
    for (const [tag, digest] of repository.tags) if (digest === reference) repository.tags.delete(tag)
    return true
  }

  /** Sorted tags, or undefined for a repository the registry has never seen. */
  tags(repo: string): string[] | undefined {
    const repository = this.repositories.get(repo)
    return repository ? [...repository.tags.keys()].sort() : undefined
  }

  startUpload(repo: string): UploadSession {
    const session: UploadSession = {id: crypto.randomUUID(), repo, chunks: [], size: 0}
    this.uploads.set(session.id, session)
    return session
  }

  /** Undefined when the id is unknown or belongs to another repository. */
  upload(repo: string, id: string): UploadSession | undefined {
    const session = this.uploads.get(id)
    return session?.repo === repo ? session : undefined
  }

  appendUpload(session: UploadSession, bytes: Uint8Array): void {
    if (bytes.length === 0) return
    session.chunks.push(bytes)
    session.size += bytes.length
  }

  /** Concatenated upload content, for digest verification at the final PUT. */
  uploadContent(session: UploadSession): Uint8Array {
    return Buffer.concat(session.chunks)
  }
}
