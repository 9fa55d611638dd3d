/** The definition file's schema (the seed's `external-images.yaml` format). Unknown keys are errors. */
import Type, {type Static} from 'typebox'

export const IdentitySchema = Type.Object(
  {
    issuer: Type.String({minLength: 1}),
    subject: Type.Optional(Type.String({minLength: 1})),
    subjectRegExp: Type.Optional(Type.String({minLength: 1})),
  },
  {additionalProperties: false},
)

export const SignSchema = Type.Object(
  {
    key: Type.Optional(Type.String({minLength: 1})),
    keyless: Type.Optional(Type.Boolean()),
    format: Type.Optional(Type.Union([Type.Literal('bundle'), Type.Literal('legacy')])),
  },
  {additionalProperties: false},
)

/** A required attestation; without its own keys or identities it is verified with the block's. */
export const AttestationSchema = Type.Object(
  {
    predicateType: Type.String({minLength: 1}),
    keys: Type.Optional(Type.Array(Type.String({minLength: 1}))),
    identities: Type.Optional(Type.Array(IdentitySchema)),
  },
  {additionalProperties: false},
)

/** A `signatures:` block, global or per image; an image's keys replace the global ones. */
export const SignaturesSchema = Type.Object(
  {
    verify: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('if-present'), Type.Literal('skip')])),
    keys: Type.Optional(Type.Array(Type.String({minLength: 1}))),
    identities: Type.Optional(Type.Array(IdentitySchema)),
    trustedRoot: Type.Optional(Type.String({minLength: 1})),
    copy: Type.Optional(Type.Boolean()),
    sign: Type.Optional(SignSchema),
    attestations: Type.Optional(Type.Array(AttestationSchema)),
  },
  {additionalProperties: false},
)

export const ImageEntrySchema = Type.Object(
  {
    source: Type.String({minLength: 1}),
    tag: Type.Optional(Type.String({minLength: 1})),
    amd64Only: Type.Optional(Type.Boolean()),
    signatures: Type.Optional(SignaturesSchema),
  },
  {additionalProperties: false},
)

export const DefinitionFileSchema = Type.Object(
  {
    // Emptiness is judged with the rest of the prefix rules (resolve.ts), so it is reported once.
    targetRepoPrefix: Type.Optional(Type.String()),
    signatures: Type.Optional(SignaturesSchema),
    images: Type.Array(ImageEntrySchema),
  },
  {additionalProperties: false},
)

export type DefinitionFile = Static<typeof DefinitionFileSchema>
export type SignaturesBlock = Static<typeof SignaturesSchema>

/** Keys an object at `path` may hold, for "did you mean" suggestions. */
export function knownKeysAt(path: readonly (string | number)[]): string[] {
  const last = path.at(-1)
  const parent = path.at(-2)
  if (path.length === 0) return Object.keys(DefinitionFileSchema.properties)
  if (last === 'signatures') return Object.keys(SignaturesSchema.properties)
  if (last === 'sign') return Object.keys(SignSchema.properties)
  if (typeof last === 'number' && parent === 'identities') return Object.keys(IdentitySchema.properties)
  if (typeof last === 'number' && parent === 'attestations') return Object.keys(AttestationSchema.properties)
  return Object.keys(ImageEntrySchema.properties)
}
