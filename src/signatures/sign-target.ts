/**
 * Signing the mirrored digest (`sign:` in the policy), with a key or keyless, as a sigstore bundle referrer
 * (cosign v3's format) or a legacy `.sig` layer. Idempotent: every signature we write carries a marker naming its
 * signer, and a digest that already holds one from the same signer is not signed again.
 */
import {MediaType} from '../oci/media-types.ts'
import {type Digest, sha256Digest} from '../ref/digest.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {appendLegacySignature, pushReferrer} from './copy.ts'
import {discoverArtifacts, SIMPLE_SIGNING_MEDIA_TYPE} from './discover.ts'
import {
  keylessToken,
  loadSigningKey,
  signBundleKeyless,
  signBundleWithKey,
  signLegacyKeyless,
  signLegacyWithKey,
  signStatementKeyless,
  signStatementWithKey,
  simpleSigningPayload,
} from './sign.ts'
import {fingerprintOfKey, SignatureError} from './trust.ts'
import {COSIGN_SIGN_PREDICATE, type SignSpec} from './types.ts'

export type SignOutcome = 'signed' | 'already-signed'

/** Names the signer of signatures we write, so a second apply recognises its own work. */
export const SIGNER_ANNOTATION = 'dev.image-syncer.signer'
const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
export const EMPTY_CONFIG = new TextEncoder().encode('{}')

export const PUBLIC_GOOD = {fulcio: 'https://fulcio.sigstore.dev', rekor: 'https://rekor.sigstore.dev'}

/** The manifest being signed, as its referrers must name it. */
export interface Subject {
  digest: Digest
  mediaType: string
  size: number
}

export async function signTarget(
  repo: RepositoryHandle,
  subject: Subject,
  spec: SignSpec,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<SignOutcome> {
  const signer = await signerFor(spec, env)
  if (await alreadySigned(repo, subject.digest, signer.id, signal)) return 'already-signed'
  const marker = {[SIGNER_ANNOTATION]: signer.id}
  if (spec.format === 'legacy') {
    const payload = simpleSigningPayload(repo.name, subject.digest)
    const {annotations} = await signer.legacy(payload)
    await appendLegacySignature(repo, subject.digest, {payload, annotations: {...annotations, ...marker}, mediaType: SIMPLE_SIGNING_MEDIA_TYPE}, signal)
  } else {
    const bundle = await signer.bundle(subject.digest)
    const manifest = referrerManifest(subject, bundle, COSIGN_SIGN_PREDICATE, marker)
    await pushReferrer(repo, manifest, [EMPTY_CONFIG, bundle], signal)
  }
  return 'signed'
}

/** A `sign:` signer ready to sign; `id` names it in the markers that make signing idempotent. */
export interface ActiveSigner {
  id: string
  legacy(payload: Uint8Array): Promise<{annotations: Record<string, string>}>
  bundle(digest: Digest): Promise<Uint8Array>
  /** A DSSE bundle over any in-toto statement (provenance). */
  statement(statement: Uint8Array): Promise<Uint8Array>
}

export async function signerFor(spec: SignSpec, env: Record<string, string | undefined>): Promise<ActiveSigner> {
  if (spec.kind === 'key') {
    const key = await loadSigningKey(spec.keyPath, env.SYNCER_SIGNING_KEY_PASSWORD)
    return {
      id: `key:${fingerprintOfKey(key.publicKey)}`,
      legacy: async (payload) => signLegacyWithKey(key, payload),
      bundle: (digest) => signBundleWithKey(key, digest),
      statement: (statement) => signStatementWithKey(key, statement),
    }
  }
  const identityToken = await keylessToken(env)
  const urls = {fulcioURL: env.SYNCER_FULCIO_URL || PUBLIC_GOOD.fulcio, rekorURL: env.SYNCER_REKOR_URL || PUBLIC_GOOD.rekor}
  return {
    id: `keyless:${tokenIdentity(identityToken)}`,
    legacy: (payload) => signLegacyKeyless({payload, identityToken, ...urls}),
    bundle: (digest) => signBundleKeyless({digest, identityToken, ...urls}),
    statement: (statement) => signStatementKeyless({statement, identityToken, ...urls}),
  }
}

/** `iss sub` of an OIDC token, read without verifying it (Fulcio does that); only used to recognise our marks. */
function tokenIdentity(token: string): string {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {iss?: unknown; sub?: unknown; email?: unknown}
    return `${String(claims.iss)} ${String(claims.email ?? claims.sub)}`
  } catch {
    throw new SignatureError('SIGNING_KEY_INVALID', 'the OIDC token for keyless signing is not a JWT')
  }
}

async function alreadySigned(repo: RepositoryHandle, digest: Digest, signerId: string, signal?: AbortSignal): Promise<boolean> {
  const artifacts = await discoverArtifacts(repo, digest, signal)
  return artifacts.some((artifact) => {
    if (artifact.manifest.parsed.kind !== 'image') return false
    const manifest = artifact.manifest.parsed.manifest
    if (artifact.kind === 'referrer') return manifest.annotations?.[SIGNER_ANNOTATION] === signerId
    return manifest.layers.some((layer) => layer.annotations?.[SIGNER_ANNOTATION] === signerId)
  })
}

/** The OCI 1.1 referrer cosign v3 writes for a bundle (sigstore-notes §1B), plus our markers. */
export function referrerManifest(subject: Subject, bundle: Uint8Array, predicateType: string, marker: Record<string, string>): Uint8Array {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: BUNDLE_MEDIA_TYPE,
    config: {mediaType: MediaType.OciEmpty, digest: sha256Digest(EMPTY_CONFIG), size: EMPTY_CONFIG.byteLength},
    layers: [{mediaType: BUNDLE_MEDIA_TYPE, digest: sha256Digest(bundle), size: bundle.byteLength}],
    subject: {mediaType: subject.mediaType, digest: subject.digest, size: subject.size},
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': predicateType,
      'org.opencontainers.image.created': new Date().toISOString(),
      ...marker,
    },
  }
  return new TextEncoder().encode(JSON.stringify(manifest))
}
