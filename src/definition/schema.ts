/**
 * The definition file's schema (the seed's `external-images.yaml` format, plus tag rules and renames). Unknown
 * keys are errors. Every key carries a description: `image-syncer schema` prints this schema for editors.
 */
import Type, {type Static} from 'typebox'

const IdentitySchema = Type.Object(
  {
    issuer: Type.String({minLength: 1, description: 'OIDC issuer of the keyless signing certificate, e.g. https://token.actions.githubusercontent.com.'}),
    subject: Type.Optional(Type.String({minLength: 1, description: 'Exact certificate identity (subject); exactly one of subject or subjectRegExp.'})),
    subjectRegExp: Type.Optional(Type.String({minLength: 1, description: 'Regular expression the certificate identity must match, always anchored.'})),
  },
  {additionalProperties: false, description: 'A keyless signer: the Fulcio certificate identity and its OIDC issuer.'},
)

const SignSchema = Type.Object(
  {
    key: Type.Optional(Type.String({minLength: 1, description: 'PEM private key file to sign the target with, relative to the definition file.'})),
    keyless: Type.Optional(Type.Boolean({description: 'Sign keyless with an OIDC token (SYNCER_OIDC_TOKEN or GitHub Actions).'})),
    format: Type.Optional(
      Type.Union([Type.Literal('bundle'), Type.Literal('legacy')], {
        description: 'bundle (sigstore bundle as an OCI referrer, default) or legacy (cosign .sig tag).',
      }),
    ),
  },
  {additionalProperties: false, description: 'Sign the target after copying.'},
)

/** A required attestation; without its own keys or identities it is verified with the block's. */
const AttestationSchema = Type.Object(
  {
    predicateType: Type.String({minLength: 1, description: 'The in-toto predicate type (a URI) that must be present and verified.'}),
    keys: Type.Optional(Type.Array(Type.String({minLength: 1}), {description: "PEM public key files of its signers, instead of the block's."})),
    identities: Type.Optional(Type.Array(IdentitySchema, {description: "Keyless signers of the attestation, instead of the block's."})),
  },
  {additionalProperties: false, description: 'An attestation the image must carry.'},
)

/** A `signatures:` block, global or per image; an image's keys replace the global ones. */
const SignaturesSchema = Type.Object(
  {
    verify: Type.Optional(
      Type.Union([Type.Literal('required'), Type.Literal('if-present'), Type.Literal('skip')], {description: 'required | if-present (default) | skip.'}),
    ),
    keys: Type.Optional(Type.Array(Type.String({minLength: 1}), {description: 'PEM public key files; any one may satisfy. Relative to the definition file.'})),
    identities: Type.Optional(Type.Array(IdentitySchema, {description: 'Keyless signers; any one may satisfy.'})),
    trustedRoot: Type.Optional(Type.String({minLength: 1, description: 'Sigstore TrustedRoot JSON file; default: the public-good root.'})),
    copy: Type.Optional(Type.Boolean({description: 'Carry signatures, attestations and other referrers to the target (default true).'})),
    sign: Type.Optional(SignSchema),
    provenance: Type.Optional(
      Type.Boolean({
        description: 'Attach a SLSA provenance v1 attestation to each target digest, signed with sign: (default false).',
      }),
    ),
    attestations: Type.Optional(Type.Array(AttestationSchema, {description: 'In-toto attestations the image must carry, verified.'})),
  },
  {additionalProperties: false, description: "The signature policy; an image's block replaces the global keys it sets."},
)

/** Which tags of a repository a tag rule mirrors; at least one of semver, regex, latest or all. */
export const TagRuleSchema = Type.Object(
  {
    semver: Type.Optional(Type.String({minLength: 1, description: 'A version range, e.g. ">=7.2 <8" or "^1.8": tags that are not versions are skipped.'})),
    regex: Type.Optional(Type.String({minLength: 1, description: 'A regular expression every selected tag matches in full (always anchored).'})),
    exclude: Type.Optional(Type.Array(Type.String({minLength: 1}), {description: 'Globs (* and ?) of tags never selected, e.g. "*-debian-11-*".'})),
    latest: Type.Optional(Type.Integer({minimum: 1, description: 'Keep the highest N by version order (the last N listed when some tag is not a version).'})),
    all: Type.Optional(Type.Boolean({description: 'true: select every tag (with exclude, every tag but those).'})),
    maxTags: Type.Optional(
      Type.Integer({minimum: 1, maximum: 10000, description: 'The most tags the rule may select before planning stops with an error (default 100).'}),
    ),
  },
  {additionalProperties: false, description: 'Mirror the tags of the source repository that this rule selects, resolved at plan time.'},
)

/** `platforms:` of an entry or of the whole file (an entry's list wins). */
const PlatformsSchema = Type.Array(Type.String({minLength: 1}), {
  minItems: 1,
  description:
    'Copy only these platforms, written os/arch[/variant] (e.g. linux/amd64, linux/arm/v7): one is copied as its manifest alone, several as a new index listing exactly them and their attestations.',
})

const ImageEntrySchema = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      description: 'A Docker reference: name:tag, name@sha256:… or name:tag@sha256:…; without tag or digest when tags: is set.',
    }),
    tag: Type.Optional(Type.String({minLength: 1, description: 'The target tag; required for a digest source.'})),
    target: Type.Optional(
      Type.String({minLength: 1, description: 'The target repository path under targetRepoPrefix (e.g. tools/redis), instead of the mirrored name.'}),
    ),
    tags: Type.Optional(TagRuleSchema),
    amd64Only: Type.Optional(Type.Boolean({description: 'Copy only the linux/amd64 manifest (the same as platforms: [linux/amd64]).'})),
    platforms: Type.Optional(PlatformsSchema),
    signatures: Type.Optional(SignaturesSchema),
  },
  {additionalProperties: false, description: 'One image (or one tag rule) to mirror.'},
)

export const DefinitionFileSchema = Type.Object(
  {
    // Emptiness is judged with the rest of the prefix rules (resolve.ts), so it is reported once.
    targetRepoPrefix: Type.Optional(Type.String({description: 'Registry host and path every target lives under, e.g. eu.gcr.io/kyma-project/external/.'})),
    signatures: Type.Optional(SignaturesSchema),
    platforms: Type.Optional(PlatformsSchema),
    images: Type.Array(ImageEntrySchema, {description: 'The images to mirror.'}),
  },
  {additionalProperties: false, title: 'image-syncer definition file', description: 'What image-syncer mirrors into targetRepoPrefix.'},
)

export type DefinitionFile = Static<typeof DefinitionFileSchema>
export type SignaturesBlock = Static<typeof SignaturesSchema>
export type TagRuleBlock = Static<typeof TagRuleSchema>

/** Keys an object at `path` may hold, for "did you mean" suggestions. */
export function knownKeysAt(path: readonly (string | number)[]): string[] {
  const last = path.at(-1)
  const parent = path.at(-2)
  if (path.length === 0) return Object.keys(DefinitionFileSchema.properties)
  if (last === 'signatures') return Object.keys(SignaturesSchema.properties)
  if (last === 'sign') return Object.keys(SignSchema.properties)
  if (last === 'tags') return Object.keys(TagRuleSchema.properties)
  if (typeof last === 'number' && parent === 'identities') return Object.keys(IdentitySchema.properties)
  if (typeof last === 'number' && parent === 'attestations') return Object.keys(AttestationSchema.properties)
  return Object.keys(ImageEntrySchema.properties)
}

/**
 * The definition file's JSON Schema for editors (`image-syncer schema`): the schema the loader checks, as plain
 * JSON. Draft-07 is what yaml-language-server and most editors understand; the keywords used are all in it.
 */
export function definitionJsonSchema(): Record<string, unknown> {
  return {$schema: 'http://json-schema.org/draft-07/schema#', ...(JSON.parse(JSON.stringify(DefinitionFileSchema)) as Record<string, unknown>)}
}
