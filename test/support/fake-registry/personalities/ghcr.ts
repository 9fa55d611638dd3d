/**
 * GitHub Container Registry (ghcr.io), source or target:
 *
 * - No referrers API: https://github.com/rtvkiz/minimal/issues/7 : "Using the referrers API directly through the
 *   OCI distribution APIs ... GHCR simply returns 404, indicating lack of support"; and
 *   https://github.com/dataaxiom/ghcr-cleanup-action/issues/13 : "GHCR does NOT yet support the referrers API (and
 *   doesn't set the OCI-Subject header) so that's why you're seeing the sha256-digest tag in that registry".
 *   So referrers live in fallback tags only (`sha256-<hex>`), which clients keep themselves.
 * - Anonymous tokens for public images: https://github.com/CodesWhat/drydock/pull/87 : "GHCR requires a token
 *   exchange even for public repos"; https://github.com/openai/tunnel-client/issues/75 shows
 *   `https://ghcr.io/token?scope=repository:openai/tunnel-client:pull&service=ghcr.io` answering 200 for a public
 *   package and 401 for a private one. Pushing always needs a login (a PAT or GITHUB_TOKEN).
 */
import type {FakeRegistry} from '../server.ts'
import {startWith} from './common.ts'

export interface GhcrOptions {
  /** Repositories anyone may pull (public packages); the rest need the login. */
  publicRepositories: string[]
  /** The login allowed to pull everything and push: user name → token. */
  users: Record<string, string>
}

export function startGhcr(options: GhcrOptions): Promise<FakeRegistry> {
  const open = new Set(options.publicRepositories.map((name) => `repository:${name}`))
  return startWith(
    {
      auth: {
        kind: 'bearer',
        service: 'ghcr.io',
        users: options.users,
        anonymous: true,
        authorize: (subject, resource, requested) => (subject !== null ? requested : open.has(resource) ? requested.filter((a) => a === 'pull') : []),
      },
      // The referrers path is answered 404, like any path GHCR does not serve.
      referrers: 'none',
    },
    () => [],
  )
}
