/**
 * Saving and reading plan files. Reading validates the whole file against the schema and the format version,
 * so `apply` never acts on a truncated, hand-broken or foreign file; each failure is one sentence.
 */
import {SyncerError} from '../ref/errors.ts'
import {Compile} from 'typebox/compile'
import Value from 'typebox/value'
import {FileReadError, readUserFile} from '../files/read.ts'
import {writeFileAtomic} from '../files/write.ts'
import {abbreviate, printableJson} from '../ref/text.ts'
import {type Digest, digestOf} from '../ref/digest.ts'
import {type Plan, PLAN_FORMAT_VERSION, PlanEntrySchema, PlanSchema} from './model.ts'

export class PlanFileError extends SyncerError {
  override readonly name = 'PlanFileError'
  readonly category = 'input' as const
  constructor(
    readonly code: 'UNREADABLE' | 'NOT_JSON' | 'NOT_A_PLAN' | 'UNKNOWN_FORMAT_VERSION' | 'INVALID',
    readonly path: string,
    message: string,
  ) {
    super(message)
  }
}

/** The file people review (`cat`, a diff in a pull request): no character in it can drive a terminal. */
export function serializePlan(plan: Plan): string {
  return `${printableJson(plan)}\n`
}

/** Writes atomically (temp file + rename): an interrupted write never leaves half a plan for apply. */
export async function writePlanFile(path: string, plan: Plan): Promise<void> {
  await writeFileAtomic(path, serializePlan(plan))
}

/**
 * A plan entry is about 1 KiB, a few more with public keys; 64 MiB holds tens of thousands of entries and still
 * refuses a wrong file before it is buffered and parsed.
 */
const MAX_PLAN_FILE_BYTES = 64 * 1024 * 1024

/** A plan as read, and the sha256 of the file's bytes: what a shard's result names, so `report` knows which plan. */
export interface PlanFile {
  plan: Plan
  sha256: Digest
}

export async function readPlanFile(path: string): Promise<PlanFile> {
  let bytes: Buffer
  try {
    bytes = await readUserFile(path, {what: 'plan file', maxBytes: MAX_PLAN_FILE_BYTES})
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err
    throw new PlanFileError('UNREADABLE', path, err.message)
  }
  return {plan: parsePlan(path, bytes.toString('utf8')), sha256: digestOf(bytes)}
}

/**
 * Compiled once, on first use: the interpreted Value.Check walks the schema for every value and took ~0.35 s per
 * 1,000 entries, most of a warm apply's start. Errors (the rare path) still come from Value.Errors.
 */
let compiled: ReturnType<typeof Compile<typeof PlanSchema>> | null = null
let compiledEntry: ReturnType<typeof Compile<typeof PlanEntrySchema>> | null = null

/**
 * Value.Errors walks the whole value interpreted (2.3 s for one bad entry among 5,000), so the errors are
 * collected from the first entry that fails the compiled check, or from the plan without its entries.
 */
function firstErrors(json: object) {
  const entries = (json as {entries?: unknown}).entries
  if (Array.isArray(entries)) {
    compiledEntry ??= Compile(PlanEntrySchema)
    const bad = entries.findIndex((e) => !compiledEntry!.Check(e))
    if (bad >= 0) return Value.Errors(PlanEntrySchema, entries[bad]).map((e) => ({...e, instancePath: `/entries/${bad}${e.instancePath}`}))
    const rest = Value.Errors(PlanSchema, {...json, entries: []})
    if (rest.length > 0) return rest
  }
  return Value.Errors(PlanSchema, json)
}

export function parsePlan(path: string, text: string): Plan {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new PlanFileError(
      'NOT_JSON',
      path,
      `${path} is not a plan file: it is not valid JSON${text.trim() === '' ? ' (it is empty)' : ' (truncated or edited?)'}`,
    )
  }
  if (typeof json !== 'object' || json === null || !('formatVersion' in json)) {
    throw new PlanFileError('NOT_A_PLAN', path, `${path} is not a plan file: it has no formatVersion`)
  }
  const version = (json as {formatVersion: unknown}).formatVersion
  if (version !== PLAN_FORMAT_VERSION) {
    throw new PlanFileError(
      'UNKNOWN_FORMAT_VERSION',
      path,
      `${path} has plan format version ${abbreviate(JSON.stringify(version) ?? String(version))}, but this image-syncer reads version ${PLAN_FORMAT_VERSION}: plan again with this version`,
    )
  }
  compiled ??= Compile(PlanSchema)
  if (!compiled.Check(json)) {
    const errors = firstErrors(json).filter((e) => e.keyword !== 'boolean')
    const first = errors[0]
    // A union of literals fails once per branch: say which values would do.
    const allowed = errors
      .filter((e) => e.instancePath === first?.instancePath && e.keyword === 'const')
      .map((e) => JSON.stringify((e.params as {allowedValue?: unknown}).allowedValue))
    const what = allowed.length > 1 ? `must be one of ${allowed.join(', ')}` : first?.message
    const where = first ? `${first.instancePath || '/'} ${what}` : 'it does not match the plan schema'
    throw new PlanFileError('INVALID', path, `${path} is not a valid plan file: ${where}`)
  }
  return json
}

/** Where `plan --sign` writes the plan's signature: `plans/x.plan.json` → `plans/x.plan.sigstore.json` (as SHA256SUMS.sigstore.json). */
export function planBundlePath(planPath: string): string {
  return `${planPath.replace(/\.json$/, '')}.sigstore.json`
}
