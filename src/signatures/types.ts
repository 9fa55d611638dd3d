/**
 * The vocabulary of signature handling: the policy a definition sets, the signed things found next to an image
 * (candidates), and verdicts. Registry discovery produces candidates; verification judges them; nothing here
 * does I/O.
 */

/**
 * required: an entry needs a verified signature. if-present: signed images must verify. skip: signatures are not
 * checked. Attestations listed in the policy are required under every mode.
 */
export type VerifyMode = 'required' | 'if-present' | 'skip'

/** A keyless signer: Fulcio certificate identity (exact or anchored regular expression) and OIDC issuer. */
export interface Identity {
  issuer: string
  subject: {kind: 'exact'; value: string} | {kind: 'regexp'; pattern: string}
}

/** Where keyless trust comes from: the public-good root shipped in @sigstore/tuf, or a TrustedRoot JSON file. */
export type TrustedRootSource = {kind: 'public-good'} | {kind: 'file'; path: string}

export type SignFormat = 'bundle' | 'legacy'

export type SignSpec = {kind: 'key'; keyPath: string; format: SignFormat} | {kind: 'keyless'; format: SignFormat}

/**
 * An attestation the entry must carry (sigstore policy-controller's `attestations`): a verified in-toto
 * statement of `predicateType` about the image, signed by the entry's keys and identities or by the item's own.
 */
export interface AttestationPolicy {
  predicateType: string
  trust: {kind: 'entry'} | {kind: 'own'; keys: Array<{path: string; pem: string}>; identities: Identity[]}
}

export interface SignaturePolicy {
  verify: VerifyMode
  /** PEM public keys (ECDSA P-256, RSA, Ed25519); any one may satisfy. */
  keys: Array<{path: string; pem: string}>
  identities: Identity[]
  trustedRoot: TrustedRootSource
  /** Carry signatures, attestations, SBOMs and other referrers to the target. */
  copy: boolean
  sign: SignSpec | null
  /** Attach a SLSA provenance attestation, signed with `sign`, to each target digest (absent: off). */
  provenance?: true
  /** Required attestations, checked whatever `verify` says about signatures. */
  attestations: AttestationPolicy[]
}

/**
 * One signed statement found for an image, with the bytes needed to verify it. `source` says where it was found,
 * for reports (e.g. `tag sha256-….sig layer 0`, `referrer sha256:…`).
 */
export type Candidate =
  /** A simple-signing payload with cosign annotations: a legacy `.sig` layer, or a cosign "oci-1-1" referrer layer. */
  | {kind: 'simple-signing'; payload: Uint8Array; annotations: Record<string, string>; source: string}
  /** A DSSE envelope (JSON bytes) with cosign annotations: a legacy `.att` layer. */
  | {kind: 'dsse-envelope'; envelope: Uint8Array; annotations: Record<string, string>; source: string}
  /** A sigstore bundle (JSON bytes): the layer of a bundle referrer. */
  | {kind: 'bundle'; bundle: Uint8Array; source: string}

/** cosign v3's predicate type for image signatures (`types.CosignSignPredicateType`). */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1'

/**
 * What a signed statement is, by cosign's rule: a simple-signing payload, or a sigstore bundle whose in-toto
 * statement has predicate `COSIGN_SIGN_PREDICATE`, is a *signature*; every other statement (a legacy `.att`,
 * a bundle with SLSA provenance, an SBOM, cosign's generic attestation predicate) is an *attestation* of its
 * predicate type. Read from the signed bytes, so it is only trustworthy on a verified verdict.
 */
export type Claim = {kind: 'signature'} | {kind: 'attestation'; predicateType: string}

/** Who a verified signature is from. */
export type Signer = {kind: 'key'; fingerprint: string} | {kind: 'identity'; subject: string; issuer: string}

export type CandidateVerdict =
  | {kind: 'verified'; signer: Signer; source: string; claim: Claim}
  /**
   * Verification ran and failed: bad signature, wrong identity, or not bound to this digest. `claim` is what the
   * candidate says it is (unverified); unreadable bundles claim to be signatures, so they still fail closed.
   */
  | {kind: 'failed'; reason: string; source: string; claim: Claim}

/** The outcome for one digest under a policy, as recorded in the plan. */
export type SignatureStatus = 'verified' | 'unsigned' | 'failed' | 'skipped'

/** The outcome for one required attestation: `missing` when none of its type was found at all. */
export type AttestationStatus = 'verified' | 'missing' | 'failed'
