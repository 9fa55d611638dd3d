/**
 * `verify` and `sign` for any image reference, outside a plan: resolve the reference to a digest, then check or
 * add signatures exactly as apply does for an entry.
 */
import type {Digest} from '../ref/digest.ts'
import {formatReference, parseReference} from '../ref/reference.ts'
import {connectRegistries, type ConnectOptions} from '../registry/connect.ts'
import {layoutReference} from '../registry/stores.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {checkPolicy, type TrustInput, TrustStore} from './check.ts'
import {decideAttestation, decideSignatures, type SignatureDecision, withAttestations} from './decide.ts'
import {signTarget, type SignOutcome} from './sign-target.ts'
import {SignatureError} from './trust.ts'
import type {Signer, SignSpec} from './types.ts'

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
  /** Every attestation that verified with the given trust, asked for or not (predicate types are registry text). */
  verifiedAttestations: Array<{predicateType: string; signers: Signer[]}>
}

/**
 * The image's signatures under `verify: required`, and each of `attestationTypes` as a required attestation
 * verified with the same trust: the command checks what apply would with that policy.
 */
export async function verifyImage(request: ImageRequest & {trust: TrustInput; attestationTypes: readonly string[]}): Promise<VerifyImageResult> {
  const {repo, digest, reference} = await resolve(request)
  const input = {entry: request.trust, attestations: request.attestationTypes.map((predicateType) => ({predicateType, trust: request.trust}))}
  const checked = await checkPolicy(repo, [digest], new TrustStore(), input, request.signal)
  // `required`: a verify command that finds nothing has verified nothing.
  const signatures = decideSignatures({verify: 'required', keys: request.trust.keys, identities: request.trust.identities}, checked.verdicts)
  const decision = withAttestations(
    signatures,
    checked.attestations.map((a) => decideAttestation(a.predicateType, a.verdicts)),
  )
  const types = new Set(checked.verdicts.flatMap((v) => (v.kind === 'verified' && v.claim.kind === 'attestation' ? [v.claim.predicateType] : [])))
  const verifiedAttestations = [...types].map((predicateType) => ({predicateType, signers: decideAttestation(predicateType, checked.verdicts).signers}))
  return {reference, digest, decision, verifiedAttestations}
}

export async function signImage(
  request: ImageRequest & {spec: SignSpec; env: Record<string, string | undefined>},
): Promise<{reference: string; digest: Digest; outcome: SignOutcome}> {
  const {repo, digest, reference, mediaType, size} = await resolve(request)
  const outcome = await signTarget(repo, {digest, mediaType, size}, request.spec, request.env, request.signal)
  return {reference, digest, outcome}
}

async function resolve(request: ImageRequest): Promise<{repo: RepositoryHandle; digest: Digest; reference: string; mediaType: string; size: number}> {
  // `oci:DIR/repo:tag`: a layout on disk (written by apply with an oci: prefix, or by skopeo), no registry at all.
  const layout = layoutReference(request.reference, request.registry.pace)
  if (layout !== null) {
    const head = await layout.repo.headManifest(layout.reference, {signal: request.signal})
    if (!head) throw new SignatureError('IMAGE_NOT_FOUND', `${request.reference} does not exist`)
    return {repo: layout.repo, digest: head.digest, reference: request.reference, mediaType: head.mediaType, size: head.size}
  }
  const ref = parseReference(request.reference)
  // The image's own registry gets the target-only credentials (--access-token, key file): it is what we write to.
  const client = await connectRegistries({...request.registry, targetRegistry: ref.registry}, request.version)
  const repo = client.repository({registry: ref.registry, repository: ref.repository})
  const head = await repo.headManifest(ref.digest ?? ref.tag ?? 'latest', {signal: request.signal})
  if (!head) throw new SignatureError('IMAGE_NOT_FOUND', `${formatReference(ref)} does not exist`)
  return {repo, digest: head.digest, reference: formatReference(ref), mediaType: head.mediaType, size: head.size}
}
