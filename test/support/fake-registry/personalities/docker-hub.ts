/**
 * Docker Hub (registry-1.docker.io) as a source, in the ways a copier notices:
 *
 * - Tokens come from another host. https://docs.docker.com/reference/api/registry/auth/ : "The registry client
 *   makes a request to the authorization service for a Bearer token"; the service is auth.docker.io with
 *   `service=registry.docker.io` (https://docs.docker.com/docker-hub/usage/pulls/ : `curl
 *   "https://auth.docker.io/token?service=registry.docker.io&scope=repository:ratelimitpreview/test:pull"`).
 * - Official images live under `library/`: https://docs.rs/crate/docker-registry-client/latest/source/resources/fetch_token
 *   asks `scope=repository%3Alibrary%2Falpine%3Apull` for `alpine`; a one-component name is no repository there.
 * - `ratelimit-limit` / `ratelimit-remaining` on HEAD too, and HEAD spends no pull. The docs' change
 *   https://gitea.cncfstack.com/docker/docs/commit/0a951c5204349755441b63799e30412dc4eee44b.diff : "These headers
 *   will be returned on both GET and HEAD requests. Note that using GET emulates a real pull and will count
 *   towards the limit; using HEAD will not" (the headers read `ratelimit-limit: 100;w=21600`,
 *   https://gist.github.com/jeversol/369009aaad4cd2cd8e2610fa68d4c4be).
 * - Over the limit a manifest GET is a 429 `toomanyrequests`: https://github.com/containers/image/pull/1078 :
 *   "toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and
 *   upgrading"; https://docs.docker.com/docker-hub/usage/pulls/ : "Docker Hub returns a `429` response code ...
 *   when the manifest is requested".
 * - At most 100 tags a page (the fake's `tagsPageSize`, as src/registry/remote/tags.ts already notes).
 */
import {ociError} from '../errors.ts'
import type {FakeRegistry} from '../server.ts'
import {type PullLimitState, pullLimit} from '../pull-limit.ts'
import {repositoryOf, startWith} from './common.ts'

export interface DockerHub {
  registry: FakeRegistry
  /** The pull budget; writable, so a test can spend it between plan and apply. */
  pulls: PullLimitState
}

/** `retryAfterSeconds`: what a 429 asks to wait (60 unless told). */
export async function startDockerHub(
  budget: {limit: number; remaining: number; retryAfterSeconds?: number} = {limit: 100, remaining: 100},
): Promise<DockerHub> {
  const limit = pullLimit({retryAfterSeconds: 60, ...budget})
  const registry = await startWith(
    {
      auth: {
        kind: 'bearer',
        service: 'registry.docker.io',
        authorize: (subject, _resource, requested) => (subject === null ? requested.filter((a) => a === 'pull') : requested),
      },
      tokenService: {kind: 'other-host'},
      tagsPageSize: 100,
    },
    () => [
      {
        name: 'docker hub: no one-component repositories',
        when: (ctx) => {
          const repository = repositoryOf(ctx.path)
          return repository !== null && !repository.includes('/')
        },
        // What Docker Hub answers for `/v2/alpine/...`: the token it issued covers no such repository.
        action: () => ociError(401, 'UNAUTHORIZED', 'authentication required'),
      },
      limit,
    ],
  )
  return {registry, pulls: limit.state}
}
