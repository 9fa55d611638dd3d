/**
 * What every endpoint handler gets: the parsed request, the repository name, the store, and the registry's
 * behaviour switches. Kept in its own file so handlers do not import the server (no cycles).
 */
import type {Authenticator} from './auth.ts'
import type {Storage} from './storage.ts'

export interface BehaviourOptions {
  /** Mirror distribution 2.8's Accept negotiation for manifests. */
  strictAccept: boolean
  /** Send Location as a path (`/v2/...`) instead of an absolute URL as distribution does. */
  relativeLocations: boolean
  /** `api`: serve the OCI 1.1 referrers API and answer `OCI-Subject`; `none`: like distribution 2.8. */
  referrers: 'api' | 'none'
  /** Descriptors per referrers page (`Link: rel="next"` beyond it); null: one page. */
  referrersPageSize: number | null
  /** The most tags one tags/list page holds whatever `n` asks (Docker Hub caps at 100); null: as asked. */
  tagsPageSize: number | null
}

export interface HandlerContext {
  request: Request
  url: URL
  /** Repository name, already validated against the spec grammar. */
  name: string
  storage: Storage
  auth: Authenticator
  options: BehaviourOptions
  /** Turns a `/v2/...` path into what the Location header should carry. */
  location(path: string): string
}
