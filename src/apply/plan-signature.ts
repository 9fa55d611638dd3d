/**
 * A plan that proves where it came from: `plan --sign` (plan/plan-sign.ts) signs the plan file's bytes as
 * `cosign sign-blob --bundle` does, written beside it as `<plan without .json>.sigstore.json`. `apply --plan-key`
 * / `--plan-identity` refuses, before any registry is asked anything, a plan whose bundle is missing, does not
 * verify over exactly the bytes apply read, or is from another signer: a hand-edited plan in a pull request is
 * then caught by the signature, not only by review.
 */
import {SyncerError} from '../ref/errors.ts'
import type {Digest} from '../ref/digest.ts'
import {FileReadError, readUserFile} from '../files/read.ts'
import {planBundlePath} from '../plan/planfile.ts'
import {type BlobTrust, verifyBlobInput} from '../signatures/blob-verify.ts'
import {readPublicKeyFile} from '../signatures/keys.ts'
import {EMPTY_TRUSTED_ROOT, loadTrustedRoot, SignatureError} from '../signatures/trust.ts'
import type {Identity, TrustedRootSource} from '../signatures/types.ts'

/** Who must have signed the plan: a public key, or a keyless identity (the planning workflow). */
export type PlanPin = {kind: 'key'; keyPath: string} | {kind: 'identity'; identity: Identity; trustedRoot: TrustedRootSource}

/** A sigstore bundle is a few KiB; a bigger file is no plan signature. */
const MAX_BUNDLE_BYTES = 1024 * 1024

export class PlanSignatureError extends SyncerError {
  override readonly name = 'PlanSignatureError'
  readonly category = 'signature' as const
  constructor(
    readonly code: 'PLAN_SIGNATURE_MISSING' | 'PLAN_SIGNATURE_INVALID',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** Throws `PlanSignatureError` unless the bundle beside `planPath` verifies over `sha256` (the bytes apply read). */
export async function verifyPlanSignature(planPath: string, sha256: Digest, pin: PlanPin): Promise<void> {
  const bundlePath = planBundlePath(planPath)
  let bundle: Buffer
  try {
    bundle = await readUserFile(bundlePath, {what: 'plan signature', maxBytes: MAX_BUNDLE_BYTES})
  } catch (error) {
    if (!(error instanceof FileReadError)) throw error
    throw new PlanSignatureError('PLAN_SIGNATURE_MISSING', `${planPath} is not signed: ${error.message}; sign plans with plan --sign`, {cause: error})
  }
  const trust: BlobTrust =
    pin.kind === 'key'
      ? // plan --sign --signing-key writes no log entry or timestamp: the key alone is the trust, no root is loaded.
        {kind: 'key', pem: await readPublicKeyFile(pin.keyPath), trustedRoot: EMPTY_TRUSTED_ROOT}
      : {kind: 'identity', identity: pin.identity, trustedRoot: await loadTrustedRoot(pin.trustedRoot)}
  try {
    await verifyBlobInput({kind: 'digest', algorithm: 'sha256', digest: Buffer.from(sha256.slice('sha256:'.length), 'hex')}, bundle, trust)
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error
    throw new PlanSignatureError(
      'PLAN_SIGNATURE_INVALID',
      `${planPath} was refused, nothing was sent: its signature ${bundlePath} does not verify: ${error.message}`,
      {
        cause: error,
      },
    )
  }
}
