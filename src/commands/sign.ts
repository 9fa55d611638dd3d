/** `image-syncer sign IMAGE`: parse flags → signImage → what happened → exit code. */
import {Args, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {printableJson} from '../ref/text.ts'
import {SyncerCommand} from './base.ts'
import {ExitCode, UsageError} from './outcome.ts'
import {registryFlags} from './registry-flags.ts'

export default class Sign extends SyncerCommand {
  static override summary = 'Sign one image with a key or keyless, idempotently.'
  static override description = `Signs the image's digest as a sigstore bundle referrer (cosign v3's format) or a legacy .sig layer. A digest
that already holds a signature from the same signer is not signed again.
Key: PEM private key (PKCS#8, EC or RSA; password from SYNCER_SIGNING_KEY_PASSWORD when encrypted).
Keyless: OIDC token from SYNCER_OIDC_TOKEN or the GitHub Actions id-token endpoint; Fulcio and Rekor from
SYNCER_FULCIO_URL and SYNCER_REKOR_URL (default: the public-good instances).`

  static override examples = [
    '<%= config.bin %> sign registry.example/app:1.0 --key mirror.key',
    '<%= config.bin %> sign registry.example/app:1.0 --keyless --format legacy',
  ]

  static override args = {image: Args.string({description: 'Image reference (tag or digest).', required: true})}

  static override flags = {
    key: Flags.string({description: 'PEM private key file.', env: 'SYNCER_SIGNING_KEY', exclusive: ['keyless']}),
    keyless: Flags.boolean({description: 'Sign with a Fulcio certificate for your OIDC identity.', default: false, env: 'SYNCER_KEYLESS'}),
    format: Flags.option({description: 'Signature format.', options: ['bundle', 'legacy'] as const, default: 'bundle', env: 'SYNCER_SIGN_FORMAT'})(),
    ...registryFlags,
  }

  protected async execute(): Promise<ExitCode> {
    const {args, flags} = await this.parse(Sign)
    if (!flags.key && !flags.keyless) throw new UsageError('give --key PEM or --keyless')
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const {signImage} = await import('../signatures/image.ts')
    const result = await signImage({
      reference: args.image,
      spec: flags.key ? {kind: 'key', keyPath: resolve(flags.key), format: flags.format} : {kind: 'keyless', format: flags.format},
      env: process.env,
      registry: this.registry(flags),
      version: this.config.version,
      signal: this.signal,
    })
    if (flags.json) this.stdout(`${printableJson({reference: result.reference, digest: result.digest, outcome: result.outcome})}\n`)
    else this.stdout(`${result.reference}@${result.digest}: ${result.outcome === 'signed' ? 'signed' : 'already signed by this signer; nothing added'}\n`)
    return ExitCode.Ok
  }
}
