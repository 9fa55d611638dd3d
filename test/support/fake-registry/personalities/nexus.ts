/**
 * Sonatype Nexus Repository (a docker hosted repository behind its reverse proxy), as a target:
 *
 * - Large request bodies are refused by the proxy Docker needs in front of it (Nexus serves registries on a path
 *   or port the Docker client cannot take as is: https://help.sonatype.com/en/docker-registry.html : "Using a
 *   reverse proxy to redirect traffic to the correct application context path"), with nginx's 413:
 *   https://github.com/goharbor/harbor/issues/3270 ("413 Request Entity Too Large ... Resolved by changing the
 *   value of `client_max_body_size`"), https://github.com/pulp/pulp-operator/issues/330 ("Error 413 Entity too
 *   large while pushing containers").
 * - Whole chunks are held in memory: https://github.com/sonatype/docker-nexus3/issues/67 : "when uploading
 *   extremely huge (8+GB) docker image layers ... the Java process appears to buffer all incoming data in RAM",
 *   so chunks must stay well under the proxy's limit and the heap (the fake refuses bigger ones alike).
 * - OCI support is partial: https://help.sonatype.com/en/docker-registry.html : "Sonatype Nexus Repository does
 *   not currently provide full support for the Open Container Initiative (OCI)". The fake refuses manifests
 *   that are no image (an artifact: a config that is not an image config) with MANIFEST_INVALID — an assumption
 *   about what "partial" means, stated as one. A run meets it with signature referrers (a sigstore bundle's
 *   config is the empty descriptor), personalities-quirks.test.ts.
 * - An index whose children are missing (a sparse index) is refused: https://ctbots.com/en/blog/devops/nexus/nexus-common-error-handling.html :
 *   "Manifest refers to missing layer ... blob unknown:blob unknown to registry" (the fake's default, as distribution).
 */
import {MediaType} from '../../../../src/oci/media-types.ts'
import {ociError} from '../errors.ts'
import {refuseLargeBody} from '../transfer-faults.ts'
import type {FakeRegistry} from '../server.ts'
import {startWith} from './common.ts'

const IMAGE_CONFIGS: readonly string[] = [MediaType.OciConfig, MediaType.DockerConfig]

export function startNexus(options: {maxBodyBytes: number}): Promise<FakeRegistry> {
  return startWith({}, () => [
    refuseLargeBody(options.maxBodyBytes, {method: ['PUT', 'PATCH', 'POST']}),
    {
      name: 'nexus: no OCI artifacts',
      method: 'PUT',
      path: /\/manifests\/[^/]+$/,
      action: async (ctx, next) => {
        const bytes = await ctx.request.arrayBuffer()
        const json = JSON.parse(new TextDecoder().decode(bytes)) as {config?: {mediaType?: string}}
        if (json.config !== undefined && !IMAGE_CONFIGS.includes(json.config.mediaType ?? '')) {
          return ociError(400, 'MANIFEST_INVALID', `manifest invalid: unsupported config media type ${json.config.mediaType}`)
        }
        return next(new Request(ctx.request.url, {method: 'PUT', headers: ctx.request.headers, body: bytes}))
      },
    },
  ])
}
