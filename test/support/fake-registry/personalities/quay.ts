/**
 * Quay (quay.io, Red Hat Quay), as a source or target:
 *
 * - A PUT of a manifest with a `subject` gets no `OCI-Subject` header, so clients keep the fallback tag:
 *   https://github.com/opencontainers/distribution-spec/pull/563 : "Quay did not respond with the `OCI-Subject`
 *   header, and we did have `subject` set, so ... my `curl`-based distribution-spec client MUST: Pull the current
 *   referrers list using the referrers tag schema".
 * - The referrers API answers, but what was pushed is not returned on read:
 *   https://github.com/quay/quay/issues/6510 : "When a manifest with a `subject` field is pushed ... the
 *   Redis-backed referrers cache is not invalidated ... Subsequent queries to the referrers API can return a stale
 *   result" (`{"manifests": []}`). The fake's API always answers the empty index it cached first.
 */
import {MediaType} from '../../../../src/oci/media-types.ts'
import type {FakeRegistry} from '../server.ts'
import {startWith} from './common.ts'

export function startQuay(): Promise<FakeRegistry> {
  return startWith({referrers: 'api'}, () => [
    {
      name: 'quay: stale (empty) referrers listing',
      method: 'GET',
      path: /\/referrers\/[^/]+$/,
      action: () =>
        new Response(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}), {headers: {'Content-Type': MediaType.OciIndex}}),
    },
    {
      name: 'quay: no OCI-Subject',
      method: 'PUT',
      path: /\/manifests\/[^/]+$/,
      action: async (_ctx, next) => {
        const response = await next()
        const headers = new Headers(response.headers)
        headers.delete('oci-subject')
        return new Response(null, {status: response.status, headers})
      },
    },
  ])
}
