/**
 * What every registry personality is made of: the fake registry's own options (auth, referrers API, token host)
 * plus faults that see the registry's storage, so a quirk can depend on what is stored ("the tag exists", "the
 * repository was never created"). Each personality file says, next to each quirk, where the behaviour is
 * documented: an issue or doc URL and the phrase quoted from it.
 */
import {isDigest} from '../../../../src/ref/digest.ts'
import type {FaultContext, FaultSpec} from '../faults.ts'
import {type FakeRegistry, type FakeRegistryOptions, startFakeRegistry} from '../server.ts'

/** Starts the fake with `options`, then adds the personality's faults, which may read `registry.storage`. */
export async function startWith(options: FakeRegistryOptions, faults: (registry: FakeRegistry) => FaultSpec[]): Promise<FakeRegistry> {
  const registry = await startFakeRegistry(options)
  for (const fault of faults(registry)) registry.addFault({times: Infinity, ...fault})
  return registry
}

/** The repository a `/v2/<name>/...` path is about, null for `/v2/`, `_catalog` and the token endpoint. */
export function repositoryOf(path: string): string | null {
  const match = /^\/v2\/(.+?)\/(manifests|blobs|tags|referrers)\//.exec(path)
  return match ? match[1]! : null
}

/** A request that writes: upload sessions (POST, PATCH, PUT) and manifest PUTs. */
export function isWrite(ctx: FaultContext): boolean {
  return ctx.method === 'POST' || ctx.method === 'PATCH' || ctx.method === 'PUT'
}

/** `PUT /v2/<name>/manifests/<tag>`: the tag it writes, null for a PUT by digest or any other request. */
export function taggedManifestPut(ctx: FaultContext): {repository: string; tag: string} | null {
  if (ctx.method !== 'PUT') return null
  const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(ctx.path)
  if (!match || isDigest(match[2]!)) return null
  return {repository: match[1]!, tag: match[2]!}
}
