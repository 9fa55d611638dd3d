/**
 * JFrog Artifactory, as a target:
 *
 * - It takes blob bytes in PATCH requests only, not in the PUT that completes a session:
 *   https://github.com/docker/buildx/issues/196 : "`docker buildx build --push` does a `POST` followed by a `PUT`
 *   (with body). The latter `PUT` results in a 404 BLOB_UNKNOWN on Artifactory"; and
 *   https://github.com/containerd/containerd/issues/3533 : "jFrog is known to require `PATCH`".
 * - The referrers API (7.90.1 and later): https://jfrog.com/help/r/jfrog-artifactory-documentation/use-referrers-rest-api-to-discover-oci-references :
 *   "Starting from Artifactory version 7.90.1, Artifactory supports Referrers API".
 */
import {ociError} from '../errors.ts'
import type {FakeRegistry} from '../server.ts'
import {startWith} from './common.ts'

export function startArtifactory(): Promise<FakeRegistry> {
  return startWith({referrers: 'api'}, () => [
    {
      name: 'artifactory: no bytes in the completing PUT',
      method: 'PUT',
      path: /\/blobs\/uploads\/[^/]+$/,
      when: (ctx) => Number(ctx.request.headers.get('content-length') ?? 0) > 0 || ctx.request.headers.get('transfer-encoding') === 'chunked',
      action: async (ctx) => {
        await ctx.request.arrayBuffer()
        return ociError(404, 'BLOB_UNKNOWN', 'blob unknown to registry')
      },
    },
  ])
}
