/**
 * Harbor (self-hosted), as a target:
 *
 * - Projects (the first path component) must exist: https://github.com/goharbor/harbor/issues/20544 : "in Harbor,
 *   users has to explicitly create a project first prior to pushing any artifacts to that project". What a push
 *   into a missing project gets is a refused token, not a 404: https://github.com/goharbor/harbor/issues/966
 *   ("pushing an image to non-existing project give a wrong error \"unauthorized: authentication required\"").
 *   The fake's token service grants pull (reads then find nothing) but no push on a project that does not exist.
 * - A missing manifest is `NOT_FOUND`, not `MANIFEST_UNKNOWN`: https://github.com/plexsystems/sinker/issues/35 :
 *   "Harbor is returning a 404 NOT_FOUND instead of MANIFEST_UNKNOWN" (`NOT_FOUND: artifact
 *   xyz/coreos/prometheus-operator:v0.38.0 not found`).
 * - Tag immutability rules refuse a PUT over an existing tag with 412: https://github.com/goharbor/harbor/pull/9427
 *   (the middleware answers "The tag:%s:%s is immutable, cannot be overwrite." and the review asks "Use
 *   `StatusPreconditionFailed` as the status code?" — "ok, fixed."); https://github.com/goharbor/harbor/issues/18792
 *   sees "an http response `412 Precondition Failed`". Its body's `DENIED` is what tells it from a lost If-Match
 *   race (src/registry/remote/manifests.ts); reached through a legacy `.sig` merge, as for ECR.
 * - The referrers API (Harbor 2.8+): https://github.com/goharbor/harbor/issues/18412 lists one.
 */
import {ociError} from '../errors.ts'
import type {FakeRegistry} from '../server.ts'
import {repositoryOf, startWith, taggedManifestPut} from './common.ts'

export interface Harbor {
  registry: FakeRegistry
  createProject(name: string): void
  /** An immutability rule for every tag of every repository of `project` (`**`). */
  makeTagsImmutable(project: string): void
}

export async function startHarbor(options: {users: Record<string, string>}): Promise<Harbor> {
  const projects = new Set<string>()
  const immutable = new Set<string>()
  const projectOf = (name: string) => name.split('/')[0]!
  const registry = await startWith(
    {
      auth: {
        kind: 'bearer',
        service: 'harbor-registry',
        users: options.users,
        authorize: (_subject, resource, requested) =>
          projects.has(projectOf(resource.replace(/^repository:/, ''))) ? requested : requested.filter((action) => action === 'pull'),
      },
      referrers: 'api',
    },
    (registry) => [
      {
        name: 'harbor: NOT_FOUND for a missing manifest',
        method: ['GET', 'HEAD'],
        path: /\/manifests\/[^/]+$/,
        action: async (ctx, next) => {
          const response = await next()
          if (response.status !== 404 || ctx.method === 'HEAD') return response
          const reference = ctx.path.split('/manifests/')[1]
          return ociError(404, 'NOT_FOUND', `artifact ${repositoryOf(ctx.path)}:${reference} not found`)
        },
      },
      {
        name: 'harbor: immutable tags',
        when: (ctx) => {
          const put = taggedManifestPut(ctx)
          return put !== null && immutable.has(projectOf(put.repository)) && registry.storage.getManifest(put.repository, put.tag) !== undefined
        },
        action: (ctx) => {
          const {repository, tag} = taggedManifestPut(ctx)!
          return ociError(412, 'DENIED', `The tag:${repository}:${tag} is immutable, cannot be overwrite.`)
        },
      },
    ],
  )
  return {registry, createProject: (name) => projects.add(name), makeTagsImmutable: (project) => immutable.add(project)}
}
