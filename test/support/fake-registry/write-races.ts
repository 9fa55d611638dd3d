/** A fault of the fake registry that reproduces distribution 2.8's non-atomic manifest writes (see slowManifestPut). */
import {ociError, ociErrors} from './errors.ts'
import type {FaultSpec, Where} from './faults.ts'

/**
 * The PUTs of manifest `digest` wait before reaching the registry, the first `delaysMs[0]`, the second
 * `delaysMs[1]` and so on (the last value for any later one), and while one waits the manifest is
 * "being written" the way distribution 2.8 writes it: its link file is rewritten in place, so a HEAD or GET of it
 * answers 404 and a PUT of any manifest that references it is refused with `DIGEST_INVALID` and
 * `MANIFEST_BLOB_UNKNOWN` (distribution's answer when it reads the half-written link). This makes the race of a
 * second writer of the same manifest (or an index PUT that does not wait for its child) happen every time: a
 * second PUT slower than the first is still under way when the first writer goes on to PUT an index listing it.
 */
export function slowManifestPut(digest: string, delaysMs: readonly number[], where: Where = {}): FaultSpec {
  let writing = 0
  let puts = 0
  const own = (path: string) => path.endsWith(`/manifests/${digest}`)
  return {
    name: `slow manifest PUT ${digest.slice(0, 19)}`,
    path: /\/manifests\/[^/]+$/,
    times: Infinity,
    ...where,
    action: async (ctx, next) => {
      if (ctx.method === 'PUT' && own(ctx.path)) {
        writing++
        try {
          await Bun.sleep(delaysMs[Math.min(puts++, delaysMs.length - 1)] ?? 0)
          return await next()
        } finally {
          writing--
        }
      }
      if (writing === 0) return next()
      if ((ctx.method === 'HEAD' || ctx.method === 'GET') && own(ctx.path)) return ociError(404, 'MANIFEST_UNKNOWN', 'manifest unknown (being written)')
      if (ctx.method !== 'PUT') return next()
      const body = await ctx.request.arrayBuffer()
      if (!new TextDecoder().decode(body).includes(digest)) {
        const {method, headers, url} = ctx.request
        return next(new Request(url, {method, headers, body}))
      }
      return ociErrors(400, [
        {code: 'DIGEST_INVALID', message: 'invalid digest (the link of a referenced manifest is being rewritten)', detail: digest},
        {code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: digest},
      ])
    },
  }
}
