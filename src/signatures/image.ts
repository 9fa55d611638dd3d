/**
 * `verify` and `sign` for any image reference, outside a plan: resolve the reference to a digest, then check or
 * add signatures exactly as apply does for an entry.
 */
import type {Digest} from '../ref/digest.ts'
import {formatReference, parseReference} from '../ref/reference.ts'
import {connectRegistries, type ConnectOptions} from '../registry/connect.ts'
import type {RegistryClient, Repository} from '../registry/client.ts'
import {collectVerdicts, type TrustInput, TrustStore} from './check.ts'
import {decideSignatures, type SignatureDecision} from './decide.ts'
import {signTarget, type SignOutcome} from './sign-target.ts'
import {SignatureError} from './trust.ts'
import type {SignSpec} from './types.ts'

export interface ImageRequest {
  reference: string
  registry: Omit<ConnectOptions, 'targetRegistry'>
  version: string
  signal?: AbortSignal
}

export interface VerifyImageResult {
  reference: string
  digest: Digest
  decision: SignatureDecision
}

export async function verifyImage(request: ImageRequest & {trust: TrustInput}): Promise<VerifyImageResult> {
  const {client, repo, digest, reference} = await resolve(request)
  const trust = await new TrustStore().trustFor(request.trust)
  // `required`: a verify command that finds nothing has verified nothing.
  const decision = decideSignatures({verify: 'required', keys: request.trust.keys, identities: request.trust.identities}, await collectVerdicts(client, repo, [digest], trust, request.signal))
  return {reference, digest, decision}
}

export async function signImage(request: ImageRequest & {spec: SignSpec; env: Record<string, string | undefined>}): Promise<{reference: string; digest: Digest; outcome: SignOutcome}> {
  const {client, repo, digest, reference, mediaType, size} = await resolve(request)
  const outcome = await signTarget(client, repo, {digest, mediaType, size}, request.spec, request.env, request.signal)
  return {reference, digest, outcome}
}

async function resolve(request: ImageRequest): Promise<{client: RegistryClient; repo: Repository; digest: Digest; reference: string; mediaType: string; size: number}> {
  const ref = parseReference(request.reference)
  const repo = {registry: ref.registry, repository: ref.repository}
  // The image's own registry gets the target-only credentials (--access-token, key file): it is what we write to.
  const client = await connectRegistries({...request.registry, targetRegistry: ref.registry}, request.version)
  const head = await client.headManifest(repo, ref.digest ?? ref.tag ?? 'latest', request.signal)
  if (!head) throw new SignatureError('IMAGE_NOT_FOUND', `${formatReference(ref)} does not exist`)
  return {client, repo, digest: head.digest, reference: formatReference(ref), mediaType: head.mediaType, size: head.size}
}
