/** The definition file's schema (the seed's `external-images.yaml` format). Unknown keys are errors. */
import Type, {type Static} from 'typebox'

export const ImageEntrySchema = Type.Object(
  {
    source: Type.String({minLength: 1}),
    tag: Type.Optional(Type.String({minLength: 1})),
    amd64Only: Type.Optional(Type.Boolean()),
  },
  {additionalProperties: false},
)

export const DefinitionFileSchema = Type.Object(
  {
    // Emptiness is judged with the rest of the prefix rules (resolve.ts), so it is reported once.
    targetRepoPrefix: Type.Optional(Type.String()),
    images: Type.Array(ImageEntrySchema),
  },
  {additionalProperties: false},
)

export type DefinitionFile = Static<typeof DefinitionFileSchema>

/** Keys the file may hold, per object path, for "did you mean" suggestions. */
export const KNOWN_KEYS = {
  root: Object.keys(DefinitionFileSchema.properties),
  image: Object.keys(ImageEntrySchema.properties),
} as const
