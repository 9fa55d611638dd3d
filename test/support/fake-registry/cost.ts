/** Test helper: what a fake registry was asked for the repositories (pings and tokens left out: they are per registry and scope), by kind. */
import type {FakeRegistry} from './server.ts'

export function requestCost(registry: FakeRegistry) {
  const repo = registry.requests.filter((r) => r.path.startsWith('/v2/') && r.path !== '/v2/')
  const manifests = repo.filter((r) => r.path.includes('/manifests/'))
  return {
    requests: repo.length,
    manifestGets: manifests.filter((r) => r.method === 'GET').length,
    manifestHeads: manifests.filter((r) => r.method === 'HEAD').length,
    blobGets: repo.filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).length,
    tagLists: repo.filter((r) => r.path.endsWith('/tags/list')).length,
    referrers: repo.filter((r) => r.path.includes('/referrers/')).length,
  }
}
