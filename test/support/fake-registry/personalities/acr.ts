/**
 * Azure Container Registry (`<name>.azurecr.io`), as a target:
 *
 * - The referrers API is served: https://learn.microsoft.com/azure/container-registry/container-registry-image-formats :
 *   "Azure Container Registry supports the OCI Distribution Specification", and ACR's own health checker
 *   https://github.com/aviral26/acr-checkhealth has "check-referrers check referrers data path (push, pull)". The
 *   fake answers it as distribution-spec 1.1 says, `OCI-Subject` on PUTs included.
 * - A blob HEAD is not answered truthfully for every token where the push itself works:
 *   https://github.com/GoogleContainerTools/jib/issues/2784 ("Azure Container Registry token works for push but
 *   not pull") logs `HEAD https://***testingmicroservices.azurecr.io/v2/target-image/blobs/sha256:...` answered
 *   `HTTP/1.1 404 Not Found` for a repository-scoped token, and https://github.com/rpardini/docker-registry-proxy/issues/174
 *   ("Azure ACR proxying failing with 401 insufficient_scope") a token accepted by `/oauth2/token` that "then
 *   fails with HTTP 401 for the `HEAD /v2/repositoryhere/imagename/...` request". `blobHead: 'denied'` answers
 *   blob HEADs 403 (no body, as for any HEAD); `not-found` answers 404 even for a blob the repository holds.
 *   GETs, uploads and mounts work either way.
 */
import type {FakeRegistry} from '../server.ts'
import {startWith} from './common.ts'

export function startAcr(options: {blobHead: 'denied' | 'not-found'}): Promise<FakeRegistry> {
  return startWith({referrers: 'api'}, () => [
    {
      name: `acr: blob HEAD ${options.blobHead}`,
      method: 'HEAD',
      path: /\/blobs\/[a-z0-9]+:[a-f0-9]+$/,
      action: () => new Response(null, {status: options.blobHead === 'denied' ? 403 : 404}),
    },
  ])
}
