/** `image-syncer verify-blob FILE --bundle B`: a downloaded file against its sigstore bundle, offline (like `cosign verify-blob`). */
import {Args, Flags} from '@oclif/core'
import type {BlobInput, BlobTrust} from '../signatures/blob-verify.ts'
import {FileReadError, readUserFile} from '../files/read.ts'
import {SyncerCommand} from './base.ts'
import {ExitCode, UsageError} from './outcome.ts'
import {parseIdentity} from './verify.ts'

/**
 * The file is hashed as a stream, so its size costs time, not memory; the bound only stops a file that never
 * ends (a /proc file, one being written).
 */
const MAX_BLOB_BYTES = 64 * 1024 * 1024 * 1024
/** `sha256:<hex>` (also sha384/sha512): the artifact by digest, as sigstore-conformance and sigstore-python take it. */
const DIGEST_ARGUMENT = /^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$/
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024

export default class VerifyBlob extends SyncerCommand {
  static override summary = 'Verify a file against its sigstore bundle, offline (e.g. a release SHA256SUMS).'
  static override description = `Checks a sigstore bundle (as written by cosign sign-blob --bundle, or by image-syncer's release build) over FILE,
or a DSSE bundle (cosign attest-blob, GitHub artifact attestations, SLSA provenance) whose in-toto statement names
FILE's sha256 as a subject (--predicate-type selects what must be attested; --format json prints the statement):
with --key, the signature must verify with that public key (log entries and timestamps the bundle carries must
verify under the trusted root too); with --identity, the bundle's certificate must chain to
the trusted root, be logged, and name that issuer and subject. No network: the trusted root is the public-good
root shipped with image-syncer unless --trusted-root names another.
Exit codes: 0 verified; 1 not verified or unreadable input.`

  static override examples = [
    '<%= config.bin %> verify-blob SHA256SUMS --bundle SHA256SUMS.sigstore.json --key release.pub',
    '<%= config.bin %> verify-blob SHA256SUMS --bundle SHA256SUMS.sigstore.json --identity https://token.actions.githubusercontent.com=https://github.com/acme/image-syncer/.github/workflows/release.yml@refs/tags/v1.0.0',
  ]

  static override args = {file: Args.string({description: 'The signed file, or its digest as sha256:<hex> (a file of that name: ./sha256:…).', required: true})}

  static override flags = {
    bundle: Flags.string({description: 'Sigstore bundle JSON of the file.', required: true}),
    key: Flags.string({description: 'PEM public key the file was signed with.', exactlyOne: ['key', 'identity']}),
    identity: Flags.string({description: 'ISSUER=SUBJECT of the keyless signer (exact subject).', exactlyOne: ['key', 'identity']}),
    'trusted-root': Flags.string({
      description:
        'Sigstore TrustedRoot JSON (for keyless signers, and for the logs and timestamps of keyed bundles); default: the public-good root shipped with image-syncer.',
      env: 'SYNCER_TRUSTED_ROOT',
    }),
    'predicate-type': Flags.string({
      description:
        'The in-toto predicate type a DSSE bundle must attest (e.g. https://slsa.dev/provenance/v1); set, a plain sign-blob signature does not satisfy it.',
    }),
    format: Flags.option({description: 'What to print on stdout.', options: ['text', 'json'] as const, default: 'text'})(),
  }

  protected async execute(): Promise<ExitCode> {
    const {args, flags} = await this.parse(VerifyBlob)
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const [{verifyBlobInput}, {readPublicKeyFile}, {loadTrustedRoot}] = await Promise.all([
      import('../signatures/blob-verify.ts'),
      import('../signatures/keys.ts'),
      import('../signatures/trust.ts'),
    ])
    const trustedRoot = await loadTrustedRoot(flags['trusted-root'] ? {kind: 'file', path: flags['trusted-root']} : {kind: 'public-good'})
    const trust: BlobTrust = flags.key
      ? {kind: 'key', pem: await readPublicKeyFile(flags.key), trustedRoot}
      : {kind: 'identity', identity: parseIdentity(flags.identity ?? '', 'exact'), trustedRoot}
    const bundle = await read(flags.bundle, 'bundle', MAX_BUNDLE_BYTES)
    const verified = await usage(() =>
      verifyBlobInput(artifactInput(args.file), bundle, trust, flags['predicate-type'] === undefined ? {} : {predicateType: flags['predicate-type']}),
    )
    const {renderBlobVerification} = await import('../views/signatures.ts')
    this.stdout(renderBlobVerification({file: args.file, ...verified}, this.format(flags)))
    return ExitCode.Ok
  }
}

function artifactInput(argument: string): BlobInput {
  if (!DIGEST_ARGUMENT.test(argument)) return {kind: 'file', path: argument, maxBytes: MAX_BLOB_BYTES}
  const [algorithm, hex] = argument.split(':') as ['sha256' | 'sha384' | 'sha512', string]
  return {kind: 'digest', algorithm, digest: Buffer.from(hex, 'hex')}
}

const read = (path: string, what: string, maxBytes: number) => usage(() => readUserFile(path, {what, maxBytes}))

/** An unreadable file the user named is a usage error: one sentence, exit 1. */
async function usage<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof FileReadError) throw new UsageError(error.message)
    throw error
  }
}
