/**
 * What the registry implementation (manifests.ts, blobs.ts, uploads.ts, tags.ts, referrers.ts, through repository.ts)
 * needs of the client: raw authenticated requests, per-client memos and the scopes it asks for. Held by handles
 * of this registry layer only, so nothing above the registry layer can send a request past the handle interface.
 */
import type {Pace} from '../../transport/retry.ts'
import type {TransportRequest} from '../../transport/transport.ts'
import type {Repository} from '../handle.ts'
import type {KeptManifests} from './kept-manifests.ts'
import type {UploadModes} from './upload-modes.ts'

export interface RegistryConnection {
  send(repo: Repository, request: Omit<TransportRequest, 'endpoint'>): Promise<Response>
  baseUrl(repo: Repository): string
  /** `make()` once per key for this client; a rejected answer is forgotten so the next caller asks again. */
  memo<T>(key: string, make: () => Promise<T>): Promise<T>
  /** Drops a memo whose answer our own writes made stale (a tag list after a tag PUT). */
  forget(key: string): void
  /** Verified manifests by repository and digest: a one-shot run reads each once. */
  readonly kept: KeptManifests
  /** The transport's pace, for retries of this layer (a resumed blob read, an upload chunk sent again). */
  readonly pace: Pace
  /** How blobs are uploaded to each registry this run: one PUT, or PATCH chunks (see upload-modes.ts). */
  readonly uploads: UploadModes
  /** Whether a URL the registry gave (an upload session's Location) may be followed: http(s) only. */
  mayFollow(url: string): boolean
}

/** One repository reached through a connection: what every function of the registry implementation works on. */
export interface RemoteRepository {
  readonly connection: RegistryConnection
  readonly repo: Repository
}

/** The memo key of `repo`'s tag list (tags.ts), here so that a tag PUT can drop it. */
export function tagsMemoKey(repo: Repository): string {
  return `tags ${repo.registry}/${repo.repository}`
}

export function pullScope(repo: Repository): string {
  return `repository:${repo.repository}:pull`
}

export function pushScope(repo: Repository): string {
  return `repository:${repo.repository}:pull,push`
}
