/**
 * Reads a definition file: YAML with positions kept, then the typebox schema, then the meaning (references,
 * targets, duplicates). Every problem of the file is collected, so one run shows them all.
 */
import {dirname} from 'node:path'
import {Compile} from 'typebox/compile'
import Value from 'typebox/value'
import {isMap, isPair, isScalar, LineCounter, parseDocument, type Document} from 'yaml'
import {FileReadError, readUserFile} from '../files/read.ts'
import {sha256Digest} from '../ref/digest.ts'
import {abbreviate, MAX_ECHO_CHARS} from '../ref/text.ts'
import {readPublicKeyFile} from '../signatures/keys.ts'
import {SignatureError} from '../signatures/trust.ts'
import {DefinitionError, type Problem} from './errors.ts'
import {type DefinitionEntry, type EntryDraft, resolveEntries, type RuleDraft, type TagRuleEntry} from './resolve.ts'
import {type KeyFileRef, readPolicyKeys} from './signatures.ts'
import {type DefinitionFile, DefinitionFileSchema, knownKeysAt} from './schema.ts'
import {suggest} from './suggest.ts'

export interface Definition {
  path: string
  /** sha256 of the file's bytes, recorded in the plan so reviewers can tie a plan to its definition. */
  sha256: string
  targetRepoPrefix: string
  entries: DefinitionEntry[]
  /** `tags:` entries, expanded at plan time (plan/expand.ts). */
  rules: TagRuleEntry[]
}

/** A parsed definition whose public key files are not read yet (parsing does no I/O). */
export interface DefinitionDraft extends Omit<Definition, 'entries' | 'rules'> {
  entries: EntryDraft[]
  rules: RuleDraft[]
}

export interface LoadOptions {
  /** From --target-repo-prefix / SYNCER_TARGET_REPO_PREFIX; wins over the file. */
  targetRepoPrefix?: string
}

/**
 * A definition of thousands of images is a few hundred KiB; 4 MiB is ten times the largest we can imagine and
 * keeps a wrong file (a log, an image, /dev/zero) from being parsed at all.
 */
const MAX_DEFINITION_BYTES = 4 * 1024 * 1024

export async function loadDefinition(path: string, options: LoadOptions = {}): Promise<Definition> {
  let bytes: Uint8Array
  try {
    bytes = await readUserFile(path, {what: 'the definition file', maxBytes: MAX_DEFINITION_BYTES})
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err
    throw new DefinitionError([{file: path, line: 1, column: 1, message: `cannot read the definition file: ${err.reason}`}])
  }
  const draft = parseDefinition(path, new TextDecoder().decode(bytes), sha256Digest(bytes), options)
  const [entries, rules] = await readKeyFiles(draft.entries, draft.rules)
  return {...draft, entries, rules}
}

/**
 * Reads each public key file once; every unreadable or non-key file is a problem at the line naming it. What is
 * kept is the key re-exported from the parsed file, never the file's text.
 */
async function readKeyFiles(entries: EntryDraft[], rules: RuleDraft[]): Promise<[DefinitionEntry[], TagRuleEntry[]]> {
  const pems = new Map<string, Promise<string | Error>>()
  const read = (file: string) => {
    let pending = pems.get(file)
    if (!pending) {
      pending = readPublicKeyFile(file).catch((err: unknown) => {
        if (err instanceof SignatureError) return new Error(err.message)
        throw err
      })
      pems.set(file, pending)
    }
    return pending
  }
  const problems: Problem[] = []
  const readAll = async (refs: KeyFileRef[]) => {
    const keys: Array<{path: string; pem: string}> = []
    for (const ref of refs) {
      const pem = await read(ref.file)
      if (pem instanceof Error) problems.push({...ref.position, message: pem.message})
      else keys.push({path: ref.file, pem})
    }
    return keys
  }
  const resolved = await Promise.all(entries.map(async ({signatures, ...entry}) => ({...entry, signatures: await readPolicyKeys(signatures, readAll)})))
  const resolvedRules = await Promise.all(rules.map(async ({signatures, ...rule}) => ({...rule, signatures: await readPolicyKeys(signatures, readAll)})))
  if (problems.length) throw new DefinitionError(sortProblems(uniqueProblems(problems)))
  return [resolved, resolvedRules]
}

function uniqueProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>()
  return problems.filter((p) => !seen.has(`${p.line}:${p.column}:${p.message}`) && seen.add(`${p.line}:${p.column}:${p.message}`))
}

/** Parses definition text; `path` names the file in problems and anchors relative key paths. No I/O. */
export function parseDefinition(path: string, text: string, sha256: string, options: LoadOptions = {}): DefinitionDraft {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true})
  const at = (offset: number | undefined, message: string): Problem => {
    const pos = lineCounter.linePos(offset ?? 0)
    return {file: path, line: pos.line, column: pos.col, message}
  }
  if (doc.errors.length) throw new DefinitionError(doc.errors.map((e) => at(e.pos[0], `YAML: ${abbreviate(e.message.split('\n')[0]!, 2 * MAX_ECHO_CHARS)}`)))

  const value = doc.toJS() as unknown
  if (value === null || value === undefined) throw new DefinitionError([at(0, 'the definition file is empty: it needs an `images:` list')])
  const {problems, badImages} = schemaProblems(doc, value, at)
  const file = value as Partial<DefinitionFile>
  if (typeof file !== 'object' || !Array.isArray(file.images)) throw new DefinitionError(problems)

  // Entries that passed the schema are still checked for meaning, so one run reports every problem.
  const valid = {...file, images: file.images.map((image, i) => (badImages.has(i) ? null : image))}
  const prefix = options.targetRepoPrefix ?? (typeof file.targetRepoPrefix === 'string' ? file.targetRepoPrefix : undefined)
  const resolved = resolveEntries(valid, prefix, dirname(path), (pathInFile) => at(nodeOffset(doc, pathInFile), ''))
  const all = [...problems, ...(resolved.kind === 'invalid' ? resolved.problems : [])]
  if (all.length || resolved.kind === 'invalid') throw new DefinitionError(sortProblems(all))
  // An empty `images: []` is valid and plans nothing.
  return {path, sha256, targetRepoPrefix: resolved.targetRepoPrefix, entries: resolved.entries, rules: resolved.rules}
}

function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column)
}

type At = (offset: number | undefined, message: string) => Problem

/**
 * Compiled once, on first use: a valid file (the usual case) is checked in ~15 ms at 10,000 entries, where
 * collecting its (no) errors took ~0.3 s. Only an invalid one goes on to Value.Errors for the messages.
 */
let compiled: ReturnType<typeof Compile<typeof DefinitionFileSchema>> | null = null

function schemaProblems(doc: Document, value: unknown, at: At): {problems: Problem[]; badImages: Set<number>} {
  compiled ??= Compile(DefinitionFileSchema)
  if (compiled.Check(value)) return {problems: [], badImages: new Set()}
  const problems: Problem[] = []
  const badImages = new Set<number>()
  const seen = new Set<string>()
  const errors = [...Value.Errors(DefinitionFileSchema, value)]
  for (const error of errors) {
    // `additionalProperties: false` also reports each extra key as a failed `false` schema; the
    // additionalProperties error below says it better, with a suggestion.
    if (error.keyword === 'boolean') continue
    const path = pointerToPath(error.instancePath)
    if (path[0] === 'images' && typeof path[1] === 'number') badImages.add(path[1])
    // A union of literals fails once per branch and once as a whole: one message lists the allowed values.
    const keyword = error.keyword === 'anyOf' ? 'const' : error.keyword
    const key = `${error.instancePath}|${keyword}`
    if (seen.has(key)) continue
    seen.add(key)
    if (error.keyword === 'additionalProperties') {
      const known = knownKeysAt(path)
      for (const name of (error.params as {additionalProperties?: string[]}).additionalProperties ?? []) {
        const hint = suggest(name, known)
        problems.push(at(keyOffset(doc, [...path, name]), `unknown key ${quoted(name)}${hint ? `: did you mean ${hint}?` : ` (allowed: ${known.join(', ')})`}`))
      }
      continue
    }
    if (keyword === 'const') {
      const allowed = errors
        .filter((e) => e.instancePath === error.instancePath && e.keyword === 'const')
        .map((e) => String((e.params as {allowedValue?: unknown}).allowedValue))
      problems.push(at(nodeOffset(doc, path), oneOf(path, allowed, doc)))
      continue
    }
    problems.push(at(nodeOffset(doc, path), describe(keyword, path, error.params as Record<string, unknown>, doc)))
  }
  return {problems, badImages}
}

/** `images[2].signatures.identities[0]`: where in the file, the way a reader would point at it. */
function where(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the file'
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}

function oneOf(path: (string | number)[], allowed: string[], doc: Document): string {
  const node = doc.getIn(path, true)
  const got = isScalar(node) ? quoted(node.value) : 'this value'
  const hint = isScalar(node) && typeof node.value === 'string' ? suggest(node.value, allowed) : null
  return `${where(path)} must be one of ${allowed.join(', ')}, got ${got}${hint ? `: did you mean ${hint}?` : ''}`
}

function describe(keyword: string, path: (string | number)[], params: Record<string, unknown>, doc: Document): string {
  const name = path.length ? (path.filter((p) => typeof p === 'string').at(-1) ?? 'entry') : 'the file'
  if (keyword === 'required') {
    const missing = (params.requiredProperties as string[] | undefined) ?? []
    return `${where(path)} is missing required key${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`
  }
  const node = doc.getIn(path, true)
  const shown = isScalar(node) ? quoted(node.value) : 'this value'
  if (keyword === 'type') {
    const expected = String(params.type)
    if (expected === 'string' && isScalar(node) && typeof node.value === 'number') {
      return `${name} must be a string, got the number ${shown}: quote it ("${abbreviate(String(node.source ?? node.value))}") so YAML keeps it as written`
    }
    if (expected === 'boolean') return `${name} must be true or false, got ${shown}`
    if (expected === 'integer') return `${name} must be a whole number, got ${shown}`
    if (expected === 'array') return `${name} must be a list${name === 'images' ? ' (write `images: []` for none)' : ''}, got ${shown}`
    if (expected === 'object') return `${where(path)} must be a mapping of keys, got ${shown}`
    return `${name} must be a ${expected}, got ${shown}`
  }
  if (keyword === 'minLength') return `${name} must not be empty`
  if (keyword === 'minItems') return `${name} must not be an empty list (leave it out to copy every platform)`
  if (keyword === 'minimum') return `${name} must be at least ${String(params.limit)}, got ${shown}`
  if (keyword === 'maximum') return `${name} must be at most ${String(params.limit)}, got ${shown}`
  return `${name}: ${keyword} check failed`
}

/** A value as the file wrote it, quoted and cut: an error never repeats megabytes of the file. */
function quoted(value: unknown): string {
  // Numbers are shown as written: JSON.stringify would turn a huge one (Infinity) into `null`.
  return typeof value === 'string' ? JSON.stringify(abbreviate(value)) : abbreviate(String(value))
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

function nodeOffset(doc: Document, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as {range?: [number, number, number]} | undefined
    if (node?.range) return node.range[0]
  }
  return undefined
}

function keyOffset(doc: Document, path: (string | number)[]): number | undefined {
  const parent = doc.getIn(path.slice(0, -1), true)
  if (isMap(parent)) {
    for (const item of parent.items) {
      if (isPair(item) && isScalar(item.key) && item.key.value === path.at(-1)) return item.key.range?.[0]
    }
  }
  return nodeOffset(doc, path)
}
