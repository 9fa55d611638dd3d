/**
 * Amazon ECR (`<account>.dkr.ecr.<region>.amazonaws.com`) as a target:
 *
 * - Repositories must exist before a push. https://github.com/regclient/regclient/issues/869 : "pushing to a
 *   non-existent repository doesn't automatically create that repository like other registries"; the answer, from
 *   https://github.com/plexsystems/sinker/issues/55 : "NAME_UNKNOWN: The repository with name
 *   'coreos/prometheus-operator' does not exist in the registry with id '<account-number>'" (a GET of the
 *   manifest says the same).
 * - A cross-repository mount is answered 202 with an ordinary upload session unless blob mounting is enabled, and
 *   even then only for a blob some manifest of the source repository references.
 *   https://github.com/aws/containers-roadmap/issues/2860 : "ECR only mounts a blob once it is referenced by at
 *   least one image manifest in the source repository. For an unreferenced-but-present blob, ECR returns `202
 *   Accepted` (falling back to a fresh upload session) instead of `201 Created`."
 * - Tag immutability, per repository: https://github.com/aws/containers-roadmap/issues/862 : "tag invalid: The
 *   image tag 'latest' already exists in the 'app_service_image' repository and cannot be overwritten because the
 *   repository is immutable." (`TAG_INVALID`, 400). The tool creates image tags only, so what meets this is
 *   its one rewrite of a tag: merging new legacy signatures into an existing `sha256-<hex>.sig`, or adding to a
 *   fallback referrers index `sha256-<hex>` (personalities-quirks.test.ts drives the first).
 * - Basic auth with the user `AWS` and a GetAuthorizationToken password (what `aws ecr get-login-password` gives).
 */
import {ociError} from '../errors.ts'
import type {FakeRegistry} from '../server.ts'
import {isWrite, repositoryOf, startWith, taggedManifestPut} from './common.ts'

export const ECR_ACCOUNT = '123456789012'

export interface Ecr {
  registry: FakeRegistry
  /** `aws ecr create-repository --repository-name NAME [--image-tag-mutability IMMUTABLE]`. */
  createRepository(name: string, options?: {tagMutability?: 'MUTABLE' | 'IMMUTABLE'}): void
}

export async function startEcr(options: {blobMounting: 'disabled' | 'enabled'; password: string}): Promise<Ecr> {
  const repositories = new Map<string, 'MUTABLE' | 'IMMUTABLE'>()
  const missing = (name: string) => ociError(404, 'NAME_UNKNOWN', `The repository with name '${name}' does not exist in the registry with id '${ECR_ACCOUNT}'`)
  const registry = await startWith({auth: {kind: 'basic', username: 'AWS', password: options.password}}, (registry) => [
    {
      name: 'ecr: repositories must exist',
      when: (ctx) => {
        const repository = repositoryOf(ctx.path)
        return repository !== null && !repositories.has(repository)
      },
      action: (ctx) => missing(repositoryOf(ctx.path)!),
    },
    {
      name: 'ecr: immutable tags',
      when: (ctx) => {
        const put = taggedManifestPut(ctx)
        return put !== null && repositories.get(put.repository) === 'IMMUTABLE' && registry.storage.getManifest(put.repository, put.tag) !== undefined
      },
      action: (ctx) => {
        const {repository, tag} = taggedManifestPut(ctx)!
        const message = `The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the repository is immutable.`
        return ociError(400, 'TAG_INVALID', message)
      },
    },
    {
      name: 'ecr: mount answered with an upload session',
      method: 'POST',
      when: (ctx) =>
        isWrite(ctx) &&
        ctx.query.has('mount') &&
        !(options.blobMounting === 'enabled' && referenced(registry, ctx.query.get('from') ?? '', ctx.query.get('mount') ?? '')),
      action: async (ctx, next) => {
        const url = new URL(ctx.request.url)
        url.searchParams.delete('mount')
        url.searchParams.delete('from')
        return next(new Request(url.href, {method: 'POST', headers: ctx.request.headers}))
      },
    },
  ])
  return {registry, createRepository: (name, settings) => repositories.set(name, settings?.tagMutability ?? 'MUTABLE')}
}

/** Whether some manifest stored in `repository` lists `digest` as its config or a layer. */
function referenced(registry: FakeRegistry, repository: string, digest: string): boolean {
  const stored = registry.storage.repository(repository)
  if (!stored) return false
  for (const manifest of stored.manifests.values()) {
    const json = JSON.parse(new TextDecoder().decode(manifest.bytes)) as {config?: {digest?: string}; layers?: {digest?: string}[]}
    if (json.config?.digest === digest || json.layers?.some((layer) => layer.digest === digest)) return true
  }
  return false
}
