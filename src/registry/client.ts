/**
 * The registry side of the stores: one transport (tokens, TLS, rate limits), the memos of one command run, and
 * the factory of repository handles that share them. What the handles do is under remote/ (manifests.ts,
 * blobs.ts, uploads.ts, tags.ts, referrers.ts), over the connection this client lends them.
 */
import type {Endpoint, RateLimit, Transport} from '../transport/transport.ts'
import type {Repository, Stores} from './handle.ts'
import type {RegistryConnection} from './remote/connection.ts'
import {KeptManifests} from './remote/kept-manifests.ts'
import {RegistryRepository} from './remote/repository.ts'
import {UploadModes} from './remote/upload-modes.ts'

export interface RegistryClientOptions {
  /** --chunk-size: upload blobs in PATCH chunks of this many bytes, to every registry. */
  chunkSize?: number
}

export class RegistryClient implements Stores {
  /**
   * Answers that hold for this client's lifetime (a registry has no referrers API, a repository's tag list),
   * so a plan asks once per registry or repository instead of once per digest. Failures are not kept.
   */
  private readonly memos = new Map<string, Promise<unknown>>()
  private readonly connection: RegistryConnection
  /** Endpoints by registry name: worked out once (mirrors, schemes), not on every request of a large plan. */
  private readonly endpoints = new Map<string, Endpoint>()

  constructor(
    private readonly transport: Transport,
    private readonly endpointOf: (registry: string) => Endpoint,
    options: RegistryClientOptions = {},
  ) {
    this.connection = {
      send: (repo, request) => this.transport.request({...request, endpoint: this.endpoint(repo.registry)}),
      baseUrl: (repo) => this.transport.baseUrlOf(this.endpoint(repo.registry)),
      memo: (key, make) => this.memo(key, make),
      forget: (key) => this.memos.delete(key),
      kept: new KeptManifests(),
      pace: transport.pace,
      uploads: new UploadModes(options.chunkSize ?? null),
      mayFollow: (url) => transport.mayFollow(url),
    }
  }

  /** The handle of `repo` on this registry, sharing this client's tokens and memos. */
  repository(repo: Repository): RegistryRepository {
    return new RegistryRepository(this.connection, repo)
  }

  /**
   * The rate-limit budget `registry` announced last (`ratelimit-*` headers), or null when it sent none. Asked by
   * the endpoint that serves `registry`: the transport keeps budgets by the endpoint's name, which for a
   * `--mirror docker.io=URL` is the mirror's host, while plans count pulls by the source's name (`docker.io`).
   */
  rateLimit(registry: string): RateLimit | null {
    return this.transport.rateLimit(this.endpoint(registry).registry)
  }

  private endpoint(registry: string): Endpoint {
    let endpoint = this.endpoints.get(registry)
    if (!endpoint) {
      endpoint = this.endpointOf(registry)
      this.endpoints.set(registry, endpoint)
    }
    return endpoint
  }

  /** `make()` once per key for this client; a rejected answer is forgotten so the next caller asks again. */
  private memo<T>(key: string, make: () => Promise<T>): Promise<T> {
    let known = this.memos.get(key) as Promise<T> | undefined
    if (!known) {
      known = make()
      this.memos.set(key, known)
      known.catch(() => this.memos.get(key) === known && this.memos.delete(key))
    }
    return known
  }
}
