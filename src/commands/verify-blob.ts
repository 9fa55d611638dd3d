/** `image-syncer verify-blob FILE --bundle B`: a downloaded file against its sigstore bundle, offline (like `cosign verify-blob`). */
import {Args, Flags} from '@oclif/core'
import {verifyBlob, type BlobTrust} from '../signatures/blob.ts'
import {readPublicKeyFile} from '../signatures/keys.ts'
import {loadTrustedRoot} from '../signatures/trust.ts'
import {FileReadError, readUserFile} from '../files/read.ts'
import {renderBlobVerification} from '../views/signatures.ts'
import {SyncerCommand} from './base.ts'
import {ExitCode, UsageError} from './outcome.ts'
import {parseIdentity} from './verify.ts'

/** SHA256SUMS and bundles are small; a release binary is ~120 MB. Anything larger is not what we sign. */
const MAX_BLOB_BYTES = 1024 * 1024 * 1024
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024

export default class VerifyBlob extends SyncerCommand {
  static override summary = 'Verify a file against its sigstore bundle, offline (e.g. a release SHA256SUMS).'
  static override description = `Checks a sigstore bundle (as written by cosign sign-blob --bundle, or by image-syncer's release build) over FILE:
with --key, the signature must verify with that public key; with --identity, the bundle's certificate must chain to
the trusted root, be logged, and name that issuer and subject. No network: the trusted root is the public-good
root shipped with image-syncer unless --trusted-root names another.
Exit codes: 0 verified; 1 not verified or unreadable input.`

  static override examples = [
    '<%= config.bin %> verify-blob SHA256SUMS --bundle SHA256SUMS.sigstore.json --key release.pub',
    '<%= config.bin %> verify-blob SHA256SUMS --bundle SHA256SUMS.sigstore.json --identity https://token.actions.githubusercontent.com=https://github.com/acme/image-syncer/.github/workflows/release.yml@refs/tags/v1.0.0',
  ]

  static override args = {file: Args.string({description: 'The signed file.', required: true})}

  static override flags = {
    bundle: Flags.string({description: 'Sigstore bundle JSON of the file.', required: true}),
    key: Flags.string({description: 'PEM public key the file was signed with.', exactlyOne: ['key', 'identity']}),
    identity: Flags.string({description: 'ISSUER=SUBJECT of the keyless signer (exact subject).', exactlyOne: ['key', 'identity']}),
    'trusted-root': Flags.string({description: 'Sigstore TrustedRoot JSON; default: the public-good root shipped with image-syncer.', env: 'SYNCER_TRUSTED_ROOT'}),
    format: Flags.option({description: 'What to print on stdout.', options: ['text', 'json'] as const, default: 'text'})(),
  }

  protected async execute(): Promise<ExitCode> {
    const {args, flags} = await this.parse(VerifyBlob)
    if (flags.key && flags['trusted-root']) throw new UsageError('--trusted-root is for --identity; a keyed bundle is trusted by its key alone')
    const trust: BlobTrust = flags.key
      ? {kind: 'key', pem: await readPublicKeyFile(flags.key)}
      : {
          kind: 'identity',
          identity: parseIdentity(flags.identity ?? '', 'exact'),
          trustedRoot: await loadTrustedRoot(flags['trusted-root'] ? {kind: 'file', path: flags['trusted-root']} : {kind: 'public-good'}),
        }
    const [data, bundle] = await Promise.all([read(args.file, 'file to verify', MAX_BLOB_BYTES), read(flags.bundle, 'bundle', MAX_BUNDLE_BYTES)])
    const signer = verifyBlob(data, bundle, trust)
    this.stdout(renderBlobVerification({file: args.file, signer}, this.format(flags)))
    return ExitCode.Ok
  }
}

async function read(path: string, what: string, maxBytes: number): Promise<Buffer> {
  try {
    return await readUserFile(path, {what, maxBytes})
  } catch (error) {
    if (error instanceof FileReadError) throw new UsageError(error.message)
    throw error
  }
}
