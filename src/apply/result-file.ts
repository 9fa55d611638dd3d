/**
 * The result file of one apply worker (`apply --result FILE`), and merging them (`report`). It names the plan it
 * came from and its shard, so results of another plan, or one shard twice, are refused instead of summed.
 */
import Type, {type Static} from 'typebox'
import Value from 'typebox/value'
import {FileReadError, readUserFile} from '../files/read.ts'
import {writeFileAtomic} from '../files/write.ts'
import type {Plan} from '../plan/model.ts'
import {SyncerError} from '../ref/errors.ts'
import {abbreviate, printableJson} from '../ref/text.ts'
import {type ApplyResult, type EntryOutcome, summarizeOutcomes} from './model.ts'
import type {Shard} from './shard.ts'

const RESULT_FORMAT_VERSION = 1

const Count = Type.Integer({minimum: 0})
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
  signature: Type.Union([Type.Null(), Type.Object({status: Type.Union([Type.Literal('verified'), Type.Literal('unsigned'), Type.Literal('failed'), Type.Literal('skipped')]), copied: Count, signed: Type.Union([Type.Literal('signed'), Type.Literal('already-signed'), Type.Literal('not-asked')])})]),
  durationMs: Type.Number({minimum: 0}),
})

const ResultFileSchema = Type.Object({
  formatVersion: Type.Literal(RESULT_FORMAT_VERSION),
  /** Which plan: a plan is made from one definition at one moment. */
  plan: Type.Object({definitionSha256: Type.String(), createdAt: Type.String()}),
  shard: Type.Object({index: Type.Integer({minimum: 1}), count: Type.Integer({minimum: 1})}),
  interrupted: Type.Boolean(),
  durationMs: Type.Number({minimum: 0}),
  entries: Type.Array(OutcomeSchema),
})
type ResultFile = Static<typeof ResultFileSchema>

class ResultFileError extends SyncerError {
  override readonly name = 'ResultFileError'
  readonly category = 'input' as const
  readonly code = 'BAD_RESULT_FILES'
}

/** Written atomically, so a worker killed mid-write leaves no half file for `report`. */
export async function writeResultFile(path: string, plan: Plan, shard: Shard, result: ApplyResult): Promise<void> {
  const file: ResultFile = {
    formatVersion: RESULT_FORMAT_VERSION,
    plan: {definitionSha256: plan.definition.sha256, createdAt: plan.createdAt},
    shard,
    interrupted: result.interrupted,
    durationMs: result.durationMs,
    entries: result.entries,
  }
  await writeFileAtomic(path, `${printableJson(file)}\n`)
}

async function readResultFile(path: string): Promise<ResultFile> {
  let json: unknown
  try {
    json = JSON.parse((await readUserFile(path, {what: 'result file', maxBytes: 256 * 1024 * 1024})).toString('utf8'))
  } catch (err) {
    if (err instanceof FileReadError) throw new ResultFileError(err.message)
    throw new ResultFileError(`${path} is not a result file: it is not valid JSON`)
  }
  const version = (json as {formatVersion?: unknown} | null)?.formatVersion
  if (version !== RESULT_FORMAT_VERSION) throw new ResultFileError(`${path} is not a result file of this image-syncer (format version ${abbreviate(JSON.stringify(version) ?? 'missing')}, expected ${RESULT_FORMAT_VERSION})`)
  if (!Value.Check(ResultFileSchema, json)) {
    const first = [...Value.Errors(ResultFileSchema, json)][0]
    throw new ResultFileError(`${path} is not a valid result file: ${first ? `${first.instancePath || '/'} ${first.message}` : 'it does not match the schema'}`)
  }
  return json
}

/** All shards' results as one apply result, and which shards sent none. */
export interface MergedResults {
  result: ApplyResult
  shards: {count: number; missing: number[]}
}

export async function mergeResultFiles(paths: readonly string[]): Promise<MergedResults> {
  if (paths.length === 0) throw new ResultFileError('no result files given: name the files the apply workers wrote with --result')
  const files = await Promise.all(paths.map(async (path) => ({path, file: await readResultFile(path)})))
  const first = files[0]!
  const seen = new Map<number, string>()
  for (const {path, file} of files) {
    if (file.plan.definitionSha256 !== first.file.plan.definitionSha256 || file.plan.createdAt !== first.file.plan.createdAt) {
      throw new ResultFileError(`${path} is the result of another plan (made ${file.plan.createdAt}) than ${first.path} (made ${first.file.plan.createdAt}): merge the results of one plan only`)
    }
    if (file.shard.count !== first.file.shard.count) throw new ResultFileError(`${path} is shard ${file.shard.index}/${file.shard.count} but ${first.path} is one of ${first.file.shard.count} shards: merge one split of the plan only`)
    const twice = seen.get(file.shard.index)
    if (twice !== undefined) throw new ResultFileError(`${path} and ${twice} are both shard ${file.shard.index}/${file.shard.count}: keep the result of one run of each shard`)
    seen.set(file.shard.index, path)
  }
  const count = first.file.shard.count
  const missing = Array.from({length: count}, (_, i) => i + 1).filter((i) => !seen.has(i))
  // The schema checked targetDigest's form; Digest is that string, branded.
  const entries = files.flatMap(({file}) => file.entries) as EntryOutcome[]
  const result: ApplyResult = {
    entries,
    summary: summarizeOutcomes(entries),
    // The workers ran side by side: the whole took as long as the slowest.
    durationMs: Math.max(...files.map(({file}) => file.durationMs)),
    interrupted: files.some(({file}) => file.interrupted),
  }
  return {result, shards: {count, missing}}
}
