/**
 * The stores of one command run: repositories on registries, and OCI image layout trees standing in for a
 * registry. A target prefix `oci:DIR/` puts every target repository in `DIR/<target path>` (targets are named
 * under LAYOUT_REGISTRY, see ref/target.ts); `--mirror HOST=oci:DIR/` serves every source repository of HOST
 * from `DIR/<the path the target naming rule gives it>`, so a tree written with `oci:DIR/` is read back as is.
 * Relative directories are resolved against the working directory. The named DIR bounds its tree: a registry or
 * repository directory below it that is a symlink leading out is refused, never read or written through.
 */
import {resolve} from 'node:path'
import {normaliseRegistryKey} from '../auth/keychain.ts'
import {BadReferenceError} from '../ref/errors.ts'
import {LAYOUT_REGISTRY, mirroredPath} from '../ref/target.ts'
import type {Pace} from '../transport/retry.ts'
import type {RateLimit} from '../transport/transport.ts'
import type {RegistryClient} from './client.ts'
import type {Repository} from './handle.ts'
import type {RepositoryHandle, Stores} from './handle.ts'
import {LayoutRepository, type LayoutRole} from './layout/repository.ts'

export interface LayoutTrees {
  /** The directory of an `oci:DIR/` target prefix; null when the target is a registry. */
  target: string | null
  /** Source registries (normalised `host[:port]`) served from a layout tree, by directory. */
  sources: ReadonlyMap<string, string>
}

export class RoutedStores implements Stores {
  /** One handle per layout directory, so it is opened once and its referrer scan is cached. */
  private readonly layouts = new Map<string, LayoutRepository>()

  constructor(
    private readonly client: RegistryClient,
    private readonly trees: LayoutTrees,
    /** The run's pace, for the layouts' writer locks. */
    private readonly pace: Pace,
  ) {}

  repository(repo: Repository): RepositoryHandle {
    if (repo.registry === LAYOUT_REGISTRY && this.trees.target !== null) return this.layout(this.trees.target, repo.repository, 'target')
    const sourceTree = this.trees.sources.get(normaliseRegistryKey(repo.registry))
    if (sourceTree !== undefined) return this.layout(sourceTree, mirroredPath({registry: repo.registry, repository: repo.repository}), 'source')
    return this.client.repository(repo)
  }

  rateLimit(registry: string): RateLimit | null {
    return this.client.rateLimit(registry)
  }

  /** The layout of `path` in `tree`, bounded by the tree: no symlink below it may lead out. */
  private layout(tree: string, path: string, role: LayoutRole): LayoutRepository {
    const dir = resolve(tree, path)
    let handle = this.layouts.get(dir)
    if (!handle) {
      handle = new LayoutRepository(dir, role, {pace: this.pace, tree: resolve(tree)})
      this.layouts.set(dir, handle)
    }
    return handle
  }
}

/**
 * `oci:DIR/repo:tag` or `oci:DIR/repo@digest` (as skopeo writes `oci:DIR:TAG`, with the repository's layout
 * directory before the tag): that layout, opened as it is, and the tag or digest in it; null for anything else.
 */
export function layoutReference(text: string, pace: Pace): {repo: RepositoryHandle; reference: string} | null {
  const dir = text.startsWith('oci:') ? text.slice('oci:'.length) : null
  if (dir === null) return null
  const at = dir.lastIndexOf('@')
  const colon = dir.lastIndexOf(':')
  const split = at > 0 ? at : colon > dir.lastIndexOf('/') ? colon : -1
  if (split <= 0) throw new BadReferenceError(text, 'a layout reference is oci:DIR:TAG or oci:DIR@DIGEST', 'reference')
  return {repo: new LayoutRepository(resolve(dir.slice(0, split)), 'source', {pace}), reference: dir.slice(split + 1)}
}
