/**
 * An in-memory store of any number of registries, for millisecond tests of the copy engine, plan and apply: the
 * `Stores` of a run without a socket or a file. Its handles (memory-repository.ts) keep the interface's contract
 * as the registry store does, so that the conformance suite (test/integration/handle-conformance.test.ts) runs
 * over it and the real stores alike.
 *
 * What a test sees: every handle call in order (`calls`, `count`), and a fault hook run before each call is
 * served, which may throw (the call fails with that) or change the contents (the call then sees the change).
 */
import type {RateLimit} from '../../src/transport/transport.ts'
import type {Repository, Stores} from '../../src/registry/handle.ts'
import {type HandleMethod, type MemoryBackend, type MemoryCall, MemoryRepository, type RepositoryContents} from './memory-repository.ts'

export {MemoryRepository}

/** Called before each call is served; what it throws is what the call throws. */
type MemoryFault = (call: MemoryCall) => void | Promise<void>

export class MemoryStores implements Stores, MemoryBackend {
  /** Every handle call, in the order they were made. */
  readonly calls: MemoryCall[] = []
  fault: MemoryFault | null = null
  private readonly repositories = new Map<string, RepositoryContents>()
  private readonly handles = new Map<string, MemoryRepository>()

  /** One handle per repository, as a run's stores hand out. */
  repository(repo: Repository): MemoryRepository {
    const key = keyOf(repo)
    let handle = this.handles.get(key)
    if (!handle) {
      handle = new MemoryRepository(this, repo)
      this.handles.set(key, handle)
    }
    return handle
  }

  rateLimit(_registry: string): RateLimit | null {
    return null
  }

  /** What `repo` holds (empty for a repository never written), for seeding and for assertions. */
  contents(repo: Repository): RepositoryContents {
    const key = keyOf(repo)
    let contents = this.repositories.get(key)
    if (!contents) {
      contents = {manifests: new Map(), tags: new Map(), blobs: new Map()}
      this.repositories.set(key, contents)
    }
    return contents
  }

  /** Calls of `method`, on `repository` (a handle, or its `registry/repository` name) when given. */
  count(method: HandleMethod, repository?: {name: string} | string): number {
    const name = typeof repository === 'string' ? repository : repository?.name
    return this.calls.filter((call) => call.method === method && (name === undefined || call.repository === name)).length
  }

  /** Forgets the calls so far, e.g. after seeding. */
  clearLog(): void {
    this.calls.length = 0
  }

  async enter(call: MemoryCall): Promise<void> {
    this.calls.push(call)
    await this.fault?.(call)
  }
}

function keyOf(repo: Repository): string {
  return `${repo.registry}/${repo.repository}`
}
