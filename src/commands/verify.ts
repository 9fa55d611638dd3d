/** `image-syncer verify IMAGE`: parse flags → verifyImage → who signed → exit code (like `cosign verify`). */
import {Args, Flags} from '@oclif/core'
import type {Identity} from '../signatures/types.ts'
import {SyncerCommand} from './base.ts'
import {ExitCode, UsageError} from './outcome.ts'
import {registryFlags} from './registry-flags.ts'

export default class Verify extends SyncerCommand {
  static override summary = 'Verify the signatures of any image, as apply would.'
  static override description = `Finds the image's signatures (legacy .sig/.att tags and OCI referrers, through the referrers API or its
fallback tag) and verifies them with sigstore against the given keys and identities, offline.
A signature is what cosign verify accepts: a simple-signing payload (.sig tag or cosign oci-1-1 referrer) or a
sigstore bundle whose in-toto predicate is https://sigstore.dev/cosign/sign/v1. Other verified statements
(.att layers, SLSA provenance, SBOMs) are attestations: check them with --attestation-type; --format json prints the
verified statements (their predicates), and --source checks that a verified SLSA provenance names that source.
Exit codes: 0 at least one signature verified, and an attestation of each --attestation-type; 1 otherwise.`

  static override examples = [
    '<%= config.bin %> verify ghcr.io/acme/app:1.0 --key cosign.pub',
    '<%= config.bin %> verify ghcr.io/acme/app:1.0 --key cosign.pub --attestation-type https://slsa.dev/provenance/v1',
    '<%= config.bin %> verify registry.internal/external/nginx:1.27.3 --key mirror.pub --attestation-type https://slsa.dev/provenance/v1 --source docker.io/library/nginx',
    '<%= config.bin %> verify quay.io/acme/app@sha256:… --identity https://token.actions.githubusercontent.com=https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
  ]

  static override args = {image: Args.string({description: 'Image reference (tag or digest).', required: true})}

  static override flags = {
    key: Flags.string({description: 'PEM public key file (repeatable; any one may satisfy).', multiple: true}),
    identity: Flags.string({description: 'ISSUER=SUBJECT of a keyless signer (repeatable; exact subject).', multiple: true}),
    'identity-regexp': Flags.string({description: 'ISSUER=REGEXP of a keyless signer (anchored; repeatable).', multiple: true}),
    'attestation-type': Flags.string({
      description: 'Predicate type URI of an attestation that must verify too, e.g. https://slsa.dev/provenance/v1 (repeatable).',
      multiple: true,
    }),
    source: Flags.string({
      description:
        'The repository the image must have been mirrored from, e.g. docker.io/library/nginx (optionally @sha256:…): a verified SLSA provenance must name it.',
    }),
    'trusted-root': Flags.string({
      description: 'Sigstore TrustedRoot JSON; default: the public-good root shipped with image-syncer.',
      env: 'SYNCER_TRUSTED_ROOT',
    }),
    format: Flags.option({description: 'What to print on stdout.', options: ['table', 'json'] as const, default: 'table', env: 'SYNCER_FORMAT'})(),
    ...registryFlags,
  }

  protected async execute(): Promise<ExitCode> {
    const {args, flags} = await this.parse(Verify)
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const [{verifyImage}, {readPublicKeyFile}] = await Promise.all([import('../signatures/image.ts'), import('../signatures/keys.ts')])
    const keys = await Promise.all((flags.key ?? []).map(async (path) => ({pem: await readPublicKeyFile(path)})))
    const identities = [
      ...(flags.identity ?? []).map((v) => parseIdentity(v, 'exact')),
      ...(flags['identity-regexp'] ?? []).map((v) => parseIdentity(v, 'regexp')),
    ]
    if (!keys.length && !identities.length) throw new UsageError('give at least one --key or --identity to verify against')
    const attestationTypes = [...new Set(flags['attestation-type'] ?? [])]
    const notUri = attestationTypes.find((type) => !URL.canParse(type))
    if (notUri !== undefined) throw new UsageError(`--attestation-type expects a predicate type URI such as https://slsa.dev/provenance/v1, got "${notUri}"`)
    const result = await verifyImage({
      reference: args.image,
      attestationTypes,
      ...(flags.source === undefined ? {} : {source: flags.source}),
      trust: {keys, identities, trustedRoot: flags['trusted-root'] ? {kind: 'file', path: flags['trusted-root']} : {kind: 'public-good'}},
      registry: this.registry(flags),
      version: this.config.version,
      signal: this.signal,
    })
    const {renderVerification} = await import('../views/signatures.ts')
    this.stdout(renderVerification(result, this.format(flags), this.display()))
    return result.decision.status === 'verified' ? ExitCode.Ok : ExitCode.Error
  }
}

/** `ISSUER=SUBJECT` of --identity (also verify-blob's). */
export function parseIdentity(value: string, kind: 'exact' | 'regexp'): Identity {
  const eq = value.indexOf('=')
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--identity expects ISSUER=SUBJECT, got "${value}"`)
  const issuer = value.slice(0, eq)
  const subject = value.slice(eq + 1)
  return {issuer, subject: kind === 'exact' ? {kind, value: subject} : {kind, pattern: subject}}
}
