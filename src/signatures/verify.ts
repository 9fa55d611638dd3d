/**
 * Judges one signed thing found next to an image (a `Candidate`) against a policy's trust: configured public
 * keys and keyless identities. Cryptography is `@sigstore/verify` with an explicit trusted root (no TUF, no
 * network); what sigstore-js does not check — that the signed statement is about *this* image — is checked
 * here, the way cosign does (`SimpleClaimVerifier`, `IntotoSubjectClaimVerifier`).
 *
 * Verification never throws for bad candidate bytes: malformed JSON, annotations or bundles are a `failed`
 * verdict whose reason is one sentence (with the sigstore error code when there is one). Only an invalid
 * `Trust` (a key that is not a key, an identity pattern that does not compile) throws a `SignatureError`;
 * `buildTrust` surfaces those before any image is looked at.
 */
import {verify as cryptoVerify, type KeyObject} from 'node:crypto'
import {bundleFromJSON, type Bundle, type TransparencyLogEntry} from '@sigstore/bundle'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {PolicyError, Verifier, toSignedEntity, toTrustMaterial, type SignedEntity, type VerificationPolicy, type VerifierOptions} from '@sigstore/verify'
import {isDigest} from '../ref/digest.ts'
import {asBuffer, inTotoProblem, predicateTypeOf, quote, simpleSigningProblem} from './binding.ts'
import {legacyAttestationBundle, legacySignatureBundle} from './legacy.ts'
import {EMPTY_TRUSTED_ROOT, SignatureError, fingerprintOfKey, parsePublicKey} from './trust.ts'
import {type Candidate, type CandidateVerdict, type Claim, COSIGN_SIGN_PREDICATE, type Identity, type Signer} from './types.ts'

/** What candidates are verified against. Treat it as immutable: compiled verifiers are cached per object. */
export interface Trust {
  /** PEM public keys; `path` (as in `SignaturePolicy.keys`) only improves error messages. */
  keys: Array<{pem: string; path?: string}>
  identities: Identity[]
  trustedRoot: TrustedRoot
}

/**
 * A messageSignature bundle signs bytes we do not have: as a referrer it names the image only through the
 * manifest `subject`, which is not signed. Accepting it would let anyone re-attach a signature over some other
 * artifact to any image, so it never verifies. (This is why cosign v3 signs images with DSSE statements.)
 */
export const UNBOUND_MESSAGE_SIGNATURE = 'message-signature bundle without its payload cannot be bound to the image'

/** Keyed signatures need neither log nor timestamp; whatever witnesses are present are still checked. */
const KEYED: VerifierOptions = {tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0}

/** The tlog body kinds sigstore-js can compare with a signature (`@sigstore/verify` `tlog/index.ts`). */
const CHECKABLE_ENTRIES = new Set(['hashedrekord@0.0.1', 'hashedrekord@0.0.2', 'dsse@0.0.1', 'dsse@0.0.2', 'intoto@0.0.2'])

interface CompiledKey {
  fingerprint: string
  /** Trusts the key alone (EMPTY root): used when the candidate has no witnesses the trusted root knows. */
  keyOnly: Verifier
  /** The key plus the trusted root's logs and TSAs, so a known log's entry must verify too. */
  withRoot: Verifier
}

interface CompiledTrust {
  keys: CompiledKey[]
  policies: VerificationPolicy[]
  keyless: Verifier
  root: TrustedRoot
}

const cache = new WeakMap<Trust, CompiledTrust>()

/** Validates a trust (keys parse, identity patterns compile) and prepares its verifiers; throws `SignatureError`. */
export function buildTrust(trust: Trust): Trust {
  compile(trust)
  return trust
}

/**
 * The sigstore policy for an identity. sigstore-js matches the SAN with `String.prototype.match`, unanchored,
 * so `acme` would accept `evil-acme`: an exact subject becomes an escaped, anchored pattern, and a regexp is
 * always wrapped in `^(?:…)$` — also when it already looks anchored, since `^a|b$` is not.
 */
export function identityPolicy(identity: Identity): VerificationPolicy {
  const source = identity.subject.kind === 'exact' ? escapeRegExp(identity.subject.value) : identity.subject.pattern
  return {subjectAlternativeName: new RegExp(`^(?:${source})$`), extensions: {issuer: identity.issuer}}
}

/** Verifies one candidate for the image `digest` (`sha256:…`, or `sha512:…`); never throws for bad bytes. */
export function verifyCandidate(candidate: Candidate, digest: string, trust: Trust): CandidateVerdict {
  const source = candidate.source
  // Until the candidate is read, only its storage form says what it is: `.att` layers are attestations, and
  // anything else fails closed as a signature.
  let claim: Claim = candidate.kind === 'dsse-envelope' ? {kind: 'attestation', predicateType: ''} : {kind: 'signature'}
  const failed = (reason: string): CandidateVerdict => ({kind: 'failed', reason, source, claim})
  if (!isDigest(digest)) return failed(`${quote(digest)} is not an image digest`)
  const compiled = compile(trust)
  try {
    const subject = normalize(candidate)
    if (typeof subject === 'string') return failed(subject)
    claim = subject.claim
    const keyed = subject.bundle.verificationMaterial.content.$case === 'publicKey'
    const outcome = keyed ? verifyKeyed(subject, compiled) : verifyKeyless(subject, compiled)
    if (typeof outcome === 'string') return failed(outcome)
    const unbound = subject.bindingProblem(digest)
    if (unbound !== null) return failed(unbound)
    return {kind: 'verified', signer: outcome, source, claim}
  } catch (error) {
    return failed(`the signature could not be checked: ${describe(error)}`)
  }
}

/**
 * A candidate as a bundle, the bytes a message signature covers, its image-binding check, and what it is. The
 * claim is read from the very payload sigstore-js verifies (the bundle's DSSE envelope), never from registry
 * annotations such as `dev.sigstore.bundle.predicateType` or an `.att` layer's `predicateType`, which are unsigned.
 */
interface Normalized {
  bundle: Bundle
  artifact: Buffer | undefined
  bindingProblem(digest: string): string | null
  claim: Claim
}

/** Returns a reason string for candidates that can never verify. */
function normalize(candidate: Candidate): Normalized | string {
  switch (candidate.kind) {
    case 'simple-signing': {
      const payload = asBuffer(candidate.payload)
      const bundle = legacySignatureBundle(candidate.annotations, payload)
      return {bundle, artifact: payload, bindingProblem: (digest) => simpleSigningProblem(payload, digest), claim: {kind: 'signature'}}
    }
    case 'dsse-envelope':
      // cosign verify reads only `.sig` and bundles: a legacy `.att` is an attestation whatever its predicate.
      return dsseSubject(legacyAttestationBundle(candidate.annotations, candidate.envelope), 'attestation')
    case 'bundle': {
      let json: unknown
      try {
        json = JSON.parse(asBuffer(candidate.bundle).toString('utf8'))
      } catch {
        return 'the sigstore bundle is not valid JSON'
      }
      const bundle = bundleFromJSON(json)
      if (bundle.content.$case === 'messageSignature') return UNBOUND_MESSAGE_SIGNATURE
      return dsseSubject(bundle, 'by-predicate')
    }
  }
}

/** `by-predicate`: a bundle is a signature exactly when its statement's predicate is cosign's signing predicate. */
function dsseSubject(bundle: Bundle, form: 'attestation' | 'by-predicate'): Normalized {
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('expected a DSSE bundle')
  const {payloadType, payload} = bundle.content.dsseEnvelope
  const predicateType = predicateTypeOf(payload)
  const claim: Claim = form === 'by-predicate' && predicateType === COSIGN_SIGN_PREDICATE ? {kind: 'signature'} : {kind: 'attestation', predicateType}
  return {bundle, artifact: undefined, bindingProblem: (digest) => inTotoProblem(payloadType, payload, digest), claim}
}

function verifyKeyed(subject: Normalized, trust: CompiledTrust): Signer | string {
  if (trust.keys.length === 0) return 'the signature was made with a key, but the policy trusts no keys'
  const entity = signedEntity(subject)
  // A key alone is enough trust (cosign `--key` without a log). Witnesses the trusted root can check must
  // hold; entries from logs it does not know (or kinds sigstore-js cannot read, e.g. intoto 0.0.1) are
  // ignored rather than failing a signature the key already vouches for.
  const witnessed = witnessesKnown(subject.bundle, trust.root)
  const bare: SignedEntity = witnessed ? entity : {...entity, tlogEntries: [], timestamps: []}
  let last: unknown
  for (const key of trust.keys) {
    try {
      ;(witnessed ? key.withRoot : key.keyOnly).verify(bare)
      return {kind: 'key', fingerprint: key.fingerprint}
    } catch (error) {
      last = error
    }
  }
  return `no trusted key verifies the signature: ${describe(last)}`
}

function verifyKeyless(subject: Normalized, trust: CompiledTrust): Signer | string {
  if (trust.policies.length === 0) return 'the signature is keyless (a certificate), but the policy trusts no identities'
  for (const entry of subject.bundle.verificationMaterial.tlogEntries) {
    const kind = entryKind(entry)
    if (!CHECKABLE_ENTRIES.has(kind)) {
      return `its transparency log entry is of kind ${kind.replace('@', ' ')} (cosign 2.2.2 or older), which sigstore-js cannot check, so the keyless signature cannot be verified`
    }
  }
  const entity = signedEntity(subject)
  for (const policy of trust.policies) {
    try {
      const signer = trust.keyless.verify(entity, policy)
      return {kind: 'identity', subject: signer.identity?.subjectAlternativeName ?? '', issuer: signer.identity?.extensions?.issuer ?? ''}
    } catch (error) {
      // Cryptography runs before the policy, so a non-policy error is the same for every identity.
      if (!(error instanceof PolicyError)) return `keyless verification failed: ${describe(error)}`
    }
  }
  const identity = trust.keyless.verify(entity).identity
  const who = `${quote(identity?.subjectAlternativeName ?? '')} from issuer ${quote(identity?.extensions?.issuer ?? '')}`
  return `the certificate identity ${who} matches no trusted identity (UNTRUSTED_SIGNER_ERROR)`
}

/** True when every tlog entry is of a checkable kind from a log the root knows, and TSA tokens have TSAs. */
function witnessesKnown(bundle: Bundle, root: TrustedRoot): boolean {
  const {tlogEntries, timestampVerificationData} = bundle.verificationMaterial
  const tokens = timestampVerificationData?.rfc3161Timestamps.length ?? 0
  if (tlogEntries.length === 0 && tokens === 0) return false
  if (tokens > 0 && root.timestampAuthorities.length === 0) return false
  return tlogEntries.every((entry) => CHECKABLE_ENTRIES.has(entryKind(entry)) && logKnown(entry, root))
}

/** `kind@version` of a tlog entry, e.g. `dsse@0.0.1`. */
const entryKind = (entry: Pick<TransparencyLogEntry, 'kindVersion'> | {kindVersion?: undefined}) => `${entry.kindVersion?.kind}@${entry.kindVersion?.version}`

function logKnown(entry: {logId?: {keyId: Buffer}}, root: TrustedRoot): boolean {
  const id = entry.logId?.keyId
  if (id === undefined) return false
  return root.tlogs.some((log) => log.logId?.keyId.equals(id) || log.checkpointKeyId?.keyId.equals(id))
}

/**
 * `toSignedEntity`, except that a message signature made with Ed25519 is checked as pure Ed25519 (how cosign
 * signs it): sigstore-js passes the bundle's hash algorithm (SHA-256) to `crypto.verify`, which Ed25519
 * refuses. DSSE is unaffected (sigstore-js lets the key imply the digest there).
 */
function signedEntity({bundle, artifact}: Normalized): SignedEntity {
  const entity = toSignedEntity(bundle, artifact)
  if (bundle.content.$case !== 'messageSignature' || artifact === undefined) return entity
  const content = entity.signature
  return {
    ...entity,
    signature: {
      signature: content.signature,
      compareSignature: (signature) => content.compareSignature(signature),
      compareDigest: (digest) => content.compareDigest(digest),
      compareSignedDigest: (digest) => content.compareSignedDigest(digest),
      verifySignature: (key: KeyObject) =>
        key.asymmetricKeyType === 'ed25519' ? verifyEd25519(artifact, key, content.signature) : content.verifySignature(key),
    },
  }
}

function verifyEd25519(data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return cryptoVerify(null, data, key, signature)
  } catch {
    return false
  }
}

function compile(trust: Trust): CompiledTrust {
  const known = cache.get(trust)
  if (known) return known
  const keys = trust.keys.map((entry, index): CompiledKey => {
    const publicKey = parsePublicKey(entry.pem, entry.path ? `public key ${entry.path}` : `public key #${index + 1}`)
    const finder = () => ({publicKey, validFor: () => true})
    return {
      fingerprint: fingerprintOfKey(publicKey),
      keyOnly: new Verifier(toTrustMaterial(EMPTY_TRUSTED_ROOT, finder), KEYED),
      withRoot: new Verifier(toTrustMaterial(trust.trustedRoot, finder), KEYED),
    }
  })
  const policies = trust.identities.map((identity, index) => {
    const which = `identity #${index + 1}`
    if (!identity.issuer) throw new SignatureError('IDENTITY_INVALID', `${which} has no issuer`)
    const value = identity.subject.kind === 'exact' ? identity.subject.value : identity.subject.pattern
    if (!value) throw new SignatureError('IDENTITY_INVALID', `${which} has an empty subject`)
    try {
      return identityPolicy(identity)
    } catch (error) {
      throw new SignatureError('IDENTITY_INVALID', `${which} has an invalid subject regular expression (${(error as Error).message})`)
    }
  })
  // Default thresholds: a certificate chain to a trusted CA, one SCT, one verified tlog entry, one timestamp.
  const compiled = {keys, policies, keyless: new Verifier(toTrustMaterial(trust.trustedRoot)), root: trust.trustedRoot}
  cache.set(trust, compiled)
  return compiled
}

/** The error's message, with its `code` (sigstore's or ours) or a bundle validation's field list. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const {code, fields} = error as {code?: unknown; fields?: unknown}
  if (typeof code === 'string') return `${error.message} (${code})`
  if (Array.isArray(fields) && fields.length > 0) return `${error.message} (fields: ${fields.join(', ')})`
  return error.message
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
