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
import {type AttestationDecision, decideAttestation, decideSignatures, type SignatureDecision, withAttestations} from './decide.ts'
import {provenanceSource, SLSA_PROVENANCE_V1} from './provenance.ts'
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
  /** The verified statements of each asked-for attestation type (the SLSA provenance predicate, to read). */
  statements: Array<{predicateType: string; source: string; statement: Record<string, unknown>}>
  /** Candidates of an asked-for type that did not verify: a forged or foreign statement next to the image. */
  rejected: Array<{predicateType: string; source: string; reason: string}>
}

/**
 * The image's signatures under `verify: required`, and each of `attestationTypes` as a required attestation
 * verified with the same trust: the command checks what apply would with that policy. `source`: a verified SLSA
 * provenance must also name that repository (and digest, if given) as where the image was mirrored from.
 */
export async function verifyImage(
  request: ImageRequest & {trust: TrustInput; attestationTypes: readonly string[]; source?: string},
): Promise<VerifyImageResult> {
  const {repo, digest, reference} = await resolve(request)
  const types = [...new Set([...request.attestationTypes, ...(request.source === undefined ? [] : [SLSA_PROVENANCE_V1])])]
  const input = {entry: request.trust, attestations: types.map((predicateType) => ({predicateType, trust: request.trust}))}
  const checked = await checkPolicy(repo, [digest], new TrustStore(), input, request.signal, undefined, new Set(types))
  // `required`: a verify command that finds nothing has verified nothing.
  const signatures = decideSignatures({verify: 'required', keys: request.trust.keys, identities: request.trust.identities}, checked.verdicts)
  const attestations = checked.attestations.map((a) => decideAttestation(a.predicateType, a.verdicts))
  const decision = withAttestations(
    signatures,
    request.source === undefined ? attestations : attestations.map((a) => requireSource(a, request.source!, checked.statements)),
  )
  const verifiedTypes = new Set(checked.verdicts.flatMap((v) => (v.kind === 'verified' && v.claim.kind === 'attestation' ? [v.claim.predicateType] : [])))
  const verifiedAttestations = [...verifiedTypes].map((predicateType) => ({predicateType, signers: decideAttestation(predicateType, checked.verdicts).signers}))
  const rejected = checked.attestations.flatMap((a) =>
    a.verdicts.flatMap((v) => (v.kind === 'failed' ? [{predicateType: a.predicateType, source: v.source, reason: v.reason}] : [])),
  )
  return {reference, digest, decision, verifiedAttestations, statements: checked.statements, rejected}
}

/** A verified provenance counts for `--source` only when it names that source: `docker.io/library/nginx[@digest]`. */
function requireSource(decision: AttestationDecision, source: string, statements: VerifyImageResult['statements']): AttestationDecision {
  if (decision.predicateType !== SLSA_PROVENANCE_V1 || decision.status !== 'verified') return decision
  const wanted = parseReference(source)
  const named = statements.flatMap((s) => (s.predicateType === SLSA_PROVENANCE_V1 ? [provenanceSource(s.statement)] : []))
  const matches = named.some((n) => {
    if (n === null) return false
    const ref = parseReference(n.repository)
    return ref.registry === wanted.registry && ref.repository === wanted.repository && (wanted.digest === undefined || wanted.digest === n.digest)
  })
  if (matches) return decision
  const names = named.flatMap((n) => (n ? [`${n.repository}@${n.digest}`] : [])).join(', ') || 'no source'
  const want = `${wanted.registry}/${wanted.repository}${wanted.digest ? `@${wanted.digest}` : ''}`
  return {...decision, status: 'failed', reasons: [`no verified provenance names the source ${want} (verified provenance names ${names})`]}
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
