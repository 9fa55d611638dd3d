/**
 * Verified manifests kept by repository and digest, so a one-shot run reads each once: plan reads the top
 * manifest, apply would read it again. Content-addressed, so never stale; bounded in total bytes, oldest first out.
 */
import type {Digest} from '../../ref/digest.ts'
import type {FetchedManifest, Repository} from '../handle.ts'

const KEPT_MANIFEST_BYTES = 32 * 1024 * 1024

export class KeptManifests {
  private readonly kept = new Map<string, FetchedManifest>()
  private bytes = 0

  get(repo: Repository, digest: Digest): FetchedManifest | undefined {
    return this.kept.get(keyOf(repo, digest))
  }

  /** Keeps `manifest` (read from `repo`) and returns it. */
  keep(repo: Repository, manifest: FetchedManifest): FetchedManifest {
    const key = keyOf(repo, manifest.digest)
    if (this.kept.has(key) || manifest.size > KEPT_MANIFEST_BYTES) return manifest
    this.kept.set(key, manifest)
    this.bytes += manifest.size
    for (const [oldest, old] of this.kept) {
      if (this.bytes <= KEPT_MANIFEST_BYTES) break
      this.kept.delete(oldest)
      this.bytes -= old.size
    }
    return manifest
  }
}

function keyOf(repo: Repository, digest: Digest): string {
  return `${repo.registry}/${repo.repository}@${digest}`
}
