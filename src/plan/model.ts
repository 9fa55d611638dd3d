/**
 * The plan file: what `plan` saw and decided, reviewed in a pull request, and the only input of `apply`.
 * Its schema is the contract; `formatVersion` changes whenever a reader would need to change.
 */
import Type, {type Static} from 'typebox'
import {TagRuleSchema} from '../definition/schema.ts'
import {SignatureRecordSchema} from './signature-record.ts'

/** 2: signature records gained attestations (issue 7); version 1 plans are refused with "plan again". */
export const PLAN_FORMAT_VERSION = 2

/**
 * RFC 6838 allows 127 + 1 + 127 characters; a longer value from a registry is recorded cut (ref/text.ts
 * abbreviate adds `… (N characters)`, hence the margin in the schema).
 */
export const MAX_ARTIFACT_TYPE_CHARS = 255

const DigestString = Type.String({pattern: '^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$'})

const ActionSchema = Type.Union([Type.Literal('to-copy'), Type.Literal('already-present'), Type.Literal('conflicting-ID')])
export type Action = Static<typeof ActionSchema>

/** `os/arch[/variant]`, as the definition wrote it (plan/consistency.ts and apply parse it). */
const PlatformString = Type.String({pattern: '^[a-z0-9._-]+/[a-z0-9._-]+(/[a-z0-9._-]+)?$'})

/**
 * What of the source is copied: everything under the digest; one platform's manifest picked out of an index
 * (`amd64Only` is linux/amd64); or a new index of several platforms, computed from the source index. For
 * `platforms`, `digest` is the new index (also the entry's `sourceDigest`: what the target tag gets) and
 * `indexDigest` the source index it is computed from.
 */
const SelectionSchema = Type.Union([
  Type.Object({kind: Type.Literal('whole')}, {additionalProperties: false}),
  Type.Object(
    {
      kind: Type.Literal('platform'),
      platform: PlatformString,
      /** The index the platform manifest was picked from; null when the source is a single manifest. */
      indexDigest: Type.Union([DigestString, Type.Null()]),
    },
    {additionalProperties: false},
  ),
  Type.Object(
    {
      kind: Type.Literal('platforms'),
      platforms: Type.Array(PlatformString, {minItems: 2}),
      indexDigest: DigestString,
      digest: DigestString,
    },
    {additionalProperties: false},
  ),
])
export type Selection = Static<typeof SelectionSchema>

export const PlanEntrySchema = Type.Object(
  {
    /** As written in the definition file. */
    source: Type.String(),
    /** Fully qualified repository the content is read from, e.g. `docker.io/library/busybox`. */
    sourceRepository: Type.String(),
    /** The content's ID: the digest apply copies, whatever the source tag says by then. */
    sourceDigest: DigestString,
    mediaType: Type.String(),
    platforms: Type.Array(Type.String()),
    /**
     * Present when the source is a single manifest that is no container image (a Helm chart, an OCI artifact):
     * its `artifactType`, or its config's media type; it then has no platforms. Optional: older plans lack it.
     */
    artifactType: Type.Optional(Type.String({minLength: 1, maxLength: MAX_ARTIFACT_TYPE_CHARS + 40})),
    selection: SelectionSchema,
    /**
     * The sizes of the blobs the copied manifest lists, summed (each distinct stored blob once), when plan read
     * that manifest anyway: a single manifest. Absent for an index or a platform picked out of one (their
     * children are not read while planning: each read is a Docker Hub pull). Only shards are balanced by it.
     */
    bytes: Type.Optional(Type.Integer({minimum: 0})),
    /** Full target reference with its tag. */
    target: Type.String(),
    /** `target:` of the definition: the repository path under the prefix, instead of the mirrored name. */
    targetPath: Type.Optional(Type.String({minLength: 1})),
    /** For an entry a tag rule selected: the rule's index in `rules`. */
    rule: Type.Optional(Type.Integer({minimum: 0})),
    action: ActionSchema,
    /** What the target tag pointed at when planned; null when absent. */
    targetDigest: Type.Union([DigestString, Type.Null()]),
    signature: SignatureRecordSchema,
  },
  {additionalProperties: false},
)
export type PlanEntry = Static<typeof PlanEntrySchema>

/**
 * Docker Hub pull economy, per source registry: the manifest GETs apply will make there for the to-copy entries
 * (an upper bound: each entry counted alone), and the budget the registry announced while planning
 * (`ratelimit-limit` / `ratelimit-remaining`; null when it sent none).
 */
const PullBudgetSchema = Type.Object(
  {
    registry: Type.String(),
    needed: Type.Integer({minimum: 0}),
    limit: Type.Union([Type.Integer({minimum: 0}), Type.Null()]),
    remaining: Type.Union([Type.Integer({minimum: 0}), Type.Null()]),
  },
  {additionalProperties: false},
)
export type PullBudget = Static<typeof PullBudgetSchema>

/**
 * A `tags:` rule as plan resolved it: the rule as written, how many tags the registry listed, and the tags it
 * selected, each of which is one entry pointing back here.
 */
const RuleRecordSchema = Type.Object(
  {
    /** The repository as written in the definition, without tag or digest. */
    source: Type.String(),
    line: Type.Integer({minimum: 1}),
    tags: TagRuleSchema,
    listed: Type.Integer({minimum: 0}),
    // maxTags is at most 10000 (definition/schema.ts): a longer list is not one plan could have written.
    matched: Type.Array(Type.String(), {maxItems: 10000}),
  },
  {additionalProperties: false},
)
export type RuleRecord = Static<typeof RuleRecordSchema>

export const PlanSchema = Type.Object(
  {
    formatVersion: Type.Literal(PLAN_FORMAT_VERSION),
    tool: Type.Object({name: Type.String(), version: Type.String()}, {additionalProperties: false}),
    createdAt: Type.String(),
    definition: Type.Object({path: Type.String(), sha256: DigestString}, {additionalProperties: false}),
    targetRepoPrefix: Type.String(),
    entries: Type.Array(PlanEntrySchema),
    summary: Type.Object(
      {
        toCopy: Type.Integer({minimum: 0}),
        alreadyPresent: Type.Integer({minimum: 0}),
        conflicting: Type.Integer({minimum: 0}),
        signatureFailures: Type.Integer({minimum: 0}),
      },
      {additionalProperties: false},
    ),
    /** One record per source registry, by name. Optional: plans written before it was recorded lack it. */
    pulls: Type.Optional(Type.Array(PullBudgetSchema)),
    /** The definition's tag rules, in file order; absent when it has none. */
    rules: Type.Optional(Type.Array(RuleRecordSchema)),
  },
  {additionalProperties: false},
)
export type Plan = Static<typeof PlanSchema>

export function summarize(entries: readonly PlanEntry[]): Plan['summary'] {
  return {
    toCopy: entries.filter((e) => e.action === 'to-copy').length,
    alreadyPresent: entries.filter((e) => e.action === 'already-present').length,
    conflicting: entries.filter((e) => e.action === 'conflicting-ID').length,
    signatureFailures: entries.filter((e) => e.signature.status === 'failed').length,
  }
}
