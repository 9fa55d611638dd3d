/**
 * The result file of one apply worker (`apply --result FILE`): what the worker did, which plan file it applied (the
 * sha256 of its bytes), its shard and the targets that shard owns, so that `report` can tell a result of another
 * plan, a forged or incomplete one, from the real thing (merge-results.ts). Version 1 files (before the plan's sha256
 * and the owned targets were recorded) are still read, for `report --unchecked` only.
 */
import Type, {type Static} from 'typebox'
import Value from 'typebox/value'
import {FileReadError, readUserFile} from '../files/read.ts'
import {writeFileAtomic} from '../files/write.ts'
import type {PlanFile} from '../plan/planfile.ts'
import {SyncerError} from '../ref/errors.ts'
import {abbreviate, printableJson} from '../ref/text.ts'
import type {ApplyResult} from './model.ts'
import type {Shard} from './shard.ts'

const RESULT_FORMAT_VERSION = 2
/** Written before 2026-12: no plan sha256, no owned targets. */
const LEGACY_FORMAT_VERSION = 1

/**
 * All result files of one `report` together: the shards hold one plan's entries between them, and a result entry
 * is smaller than a plan entry, so they get the plan file's bound (plan/planfile.ts) in total, not once per file.
 */
const MAX_RESULT_BYTES_IN_TOTAL = 64 * 1024 * 1024

const Count = Type.Integer({minimum: 0})
const Sha256 = Type.String({pattern: '^sha256:[a-f0-9]{64}$'})
const OutcomeSchema = Type.Object({
  source: Type.String(),
  target: Type.String(),
  sourceDigest: Type.String(),
  result: Type.Union([
    Type.Object({kind: Type.Literal('copied')}),
    Type.Object({kind: Type.Literal('already-present')}),
    Type.Object({kind: Type.Literal('conflict'), targetDigest: Type.String({pattern: '^sha(256|512):[a-f0-9]+$'})}),
    Type.Object({kind: Type.Literal('failed'), message: Type.String()}),
  ]),
  bytes: Count,
  blobs: Type.Object({uploaded: Count, mounted: Count, present: Count}),
  signature: Type.Union([
    Type.Null(),
    Type.Object({
      status: Type.Union([Type.Literal('verified'), Type.Literal('unsigned'), Type.Literal('failed'), Type.Literal('skipped')]),
      copied: Count,
      signed: Type.Union([Type.Literal('signed'), Type.Literal('already-signed'), Type.Literal('not-asked')]),
      provenance: Type.Optional(Type.Union([Type.Literal('attached'), Type.Literal('already-attached')])),
    }),
  ]),
  durationMs: Type.Number({minimum: 0}),
})

const common = {
  shard: Type.Object({index: Type.Integer({minimum: 1}), count: Type.Integer({minimum: 1})}),
  interrupted: Type.Boolean(),
  durationMs: Type.Number({minimum: 0}),
  entries: Type.Array(OutcomeSchema),
}
const ResultFileSchema = Type.Object({
  formatVersion: Type.Literal(RESULT_FORMAT_VERSION),
  /** Which plan file, by the sha256 of its bytes; the definition and date say it to a person. */
  plan: Type.Object({sha256: Sha256, definitionSha256: Type.String(), createdAt: Type.String()}),
  ...common,
  /** The target of every plan entry of this shard, in plan order: what the worker had to account for. */
  owns: Type.Array(Type.String()),
})
const LegacyResultFileSchema = Type.Object({
  formatVersion: Type.Literal(LEGACY_FORMAT_VERSION),
  plan: Type.Object({definitionSha256: Type.String(), createdAt: Type.String()}),
  ...common,
})

type CurrentResultFile = Static<typeof ResultFileSchema>
/** A result as read: a version 1 file has no plan sha256 and no owned targets. */
export type ResultFile = CurrentResultFile | Static<typeof LegacyResultFileSchema>

export class ResultFileError extends SyncerError {
  override readonly name = 'ResultFileError'
  readonly category = 'input' as const
  readonly code = 'BAD_RESULT_FILES'
}

/** Written atomically, so a worker killed mid-write leaves no half file for `report`. */
export async function writeResultFile(path: string, planFile: PlanFile, part: {shard: Shard; owns: string[]}, result: ApplyResult): Promise<void> {
  const {plan, sha256} = planFile
  const file: CurrentResultFile = {
    formatVersion: RESULT_FORMAT_VERSION,
    plan: {sha256, definitionSha256: plan.definition.sha256, createdAt: plan.createdAt},
    shard: part.shard,
    interrupted: result.interrupted,
    durationMs: result.durationMs,
    entries: result.entries,
    owns: part.owns,
  }
  await writeFileAtomic(path, `${printableJson(file)}\n`)
}

/** Reads the files one after another, each bounded by what the files before it left of the total. */
export async function readResultFiles(paths: readonly string[]): Promise<{path: string; file: ResultFile}[]> {
  const files: {path: string; file: ResultFile}[] = []
  let left = MAX_RESULT_BYTES_IN_TOTAL
  for (const path of paths) {
    let bytes: Buffer
    try {
      bytes = await readUserFile(path, {what: 'result file', maxBytes: left})
    } catch (err) {
      if (!(err instanceof FileReadError)) throw err
      const total = err.code === 'TOO_LARGE' && paths.length > 1 ? ` (the result files together may have ${MAX_RESULT_BYTES_IN_TOTAL / (1024 * 1024)} MiB)` : ''
      throw new ResultFileError(`${err.message}${total}`)
    }
    left -= bytes.length
    files.push({path, file: parseResultFile(path, bytes.toString('utf8'))})
  }
  return files
}

function parseResultFile(path: string, text: string): ResultFile {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ResultFileError(`${path} is not a result file: it is not valid JSON`)
  }
  const version = (json as {formatVersion?: unknown} | null)?.formatVersion
  const schema = version === RESULT_FORMAT_VERSION ? ResultFileSchema : version === LEGACY_FORMAT_VERSION ? LegacyResultFileSchema : null
  if (schema === null)
    throw new ResultFileError(
      `${path} is not a result file of this image-syncer (format version ${abbreviate(JSON.stringify(version) ?? 'missing')}, expected ${RESULT_FORMAT_VERSION})`,
    )
  if (!Value.Check(schema, json)) {
    const first = [...Value.Errors(schema, json)][0]
    throw new ResultFileError(`${path} is not a valid result file: ${first ? `${first.instancePath || '/'} ${first.message}` : 'it does not match the schema'}`)
  }
  return json as ResultFile
}
