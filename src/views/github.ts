/**
 * GitHub Actions, when `GITHUB_ACTIONS=true`: problems as workflow annotations (`::error file=…,line=…,col=…::…`),
 * which the runner reads from stdout and stderr and pins to the file in the pull request, and the plan or apply
 * table in the step summary (`$GITHUB_STEP_SUMMARY`, Markdown appended to a file).
 * Escaping follows the runner's workflow-command rules (actions/toolkit `command.ts`): in the message `%`, CR and
 * LF; in properties also `:` and `,`. Messages quote definition files and registries, so they are made printable
 * first: an annotation can never smuggle a second workflow command onto its own line.
 */
import type {ApplyResult} from '../apply/model.ts'
import type {Problem} from '../definition/errors.ts'
import type {EntryFailure} from '../plan/build.ts'
import type {Plan} from '../plan/model.ts'
import {printable} from '../ref/text.ts'
import {renderApplyResult} from './apply.ts'
import {markdownCode} from './markdown.ts'
import {renderMarkdown} from './plan-markdown.ts'

/** Where GitHub Actions output goes; null outside Actions. */
export type GithubActions = {stepSummary: string | null} | null

export function githubActionsFrom(env: Record<string, string | undefined>): GithubActions {
  if (env.GITHUB_ACTIONS !== 'true') return null
  return {stepSummary: env.GITHUB_STEP_SUMMARY || null}
}

export const escapeData = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
export const escapeProperty = (text: string) => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C')

interface At {
  file?: string
  line?: number
  col?: number
  title?: string
}

/** One `::error …::message` line. */
export function annotation(message: string, at: At = {}): string {
  const props = Object.entries(at)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${escapeProperty(printable(String(value)))}`)
  return `::error${props.length ? ` ${props.join(',')}` : ''}::${escapeData(printable(message, {multiline: true}))}\n`
}

export function problemAnnotations(problems: readonly Problem[]): string {
  return problems.map((p) => annotation(p.message, {file: p.file, line: p.line, col: p.column, title: 'image-syncer: definition'})).join('')
}

export function failureAnnotations(definitionPath: string, failures: readonly EntryFailure[]): string {
  return failures.map((f) => annotation(`${f.source}: ${f.message}`, {file: definitionPath, line: f.line, title: 'image-syncer: not classified'})).join('')
}

/**
 * Conflicting entries of a plan, pinned to the definition line that names their source (plan entries keep the
 * source as written, not the line: the first line mentioning it is the one a reviewer looks for).
 */
export function conflictAnnotations(plan: Plan, definitionPath: string, definitionText: string): string {
  const lines = definitionText.split('\n')
  return plan.entries
    .filter((e) => e.action === 'conflicting-ID')
    .map((e) => {
      const index = lines.findIndex((l) => l.includes(e.source))
      const message = `${e.target} holds ${e.targetDigest ?? 'other content'}, not ${e.sourceDigest}: it is never overwritten (change the tag, or delete the target tag on purpose)`
      return annotation(message, {file: definitionPath, ...(index >= 0 ? {line: index + 1} : {}), title: 'image-syncer: conflict'})
    })
    .join('')
}

export function applyConflictAnnotations(result: ApplyResult): string {
  return result.entries
    .flatMap((e) =>
      e.result.kind === 'conflict'
        ? [annotation(`${e.target} holds ${e.result.targetDigest}, not ${e.sourceDigest}: not overwritten`, {title: 'image-syncer: conflict'})]
        : [],
    )
    .join('')
}

/** GitHub shows a step summary only up to 1 MiB (it refuses a longer one, with an error in the log). */
export const STEP_SUMMARY_MAX_BYTES = 1024 * 1024
const LIMIT_REASON = 'a GitHub step summary holds at most 1 MiB'

/** The Markdown of the plan under a heading; a long plan's rows are cut to fit, naming the plan file that has them all. */
export function planSummary(plan: Plan, planPath: string): string {
  const heading = '### image-syncer plan\n\n'
  const limit = {bytes: STEP_SUMMARY_MAX_BYTES - Buffer.byteLength(heading) - 1, reason: LIMIT_REASON, fullPlan: `the plan file ${markdownCode(planPath)}`}
  return `${heading}${renderMarkdown(plan, limit)}\n`
}

/**
 * Any step summary, cut at a line to fit the limit when it is longer (apply's and report's tables of
 * thousands of entries), with an open code block or `<details>` closed and a note of how much was left out.
 * The command's own output (the job log) always has everything.
 */
export function boundedSummary(markdown: string, maxBytes = STEP_SUMMARY_MAX_BYTES): string {
  if (Buffer.byteLength(markdown) <= maxBytes) return markdown
  const lines = markdown.split('\n')
  const kept: string[] = []
  let bytes = 1024 // the closing lines and the note
  let fenced = false
  let open = 0
  for (const line of lines) {
    bytes += Buffer.byteLength(line) + 1
    if (bytes > maxBytes) break
    kept.push(line)
    if (line.startsWith('```')) fenced = !fenced
    if (line.startsWith('<details')) open++
    if (line.startsWith('</details>')) open--
  }
  const closing = [...(fenced ? ['```'] : []), ...Array.from({length: Math.max(open, 0)}, () => '</details>')]
  const note = `**${lines.length - kept.length} more lines are not shown here** (${LIMIT_REASON}): the job log has all of them.`
  return `${[...kept, ...closing, '', note].join('\n')}\n`
}

/** The apply table as preformatted text: its columns line up in a monospace block, which Markdown tables would not improve. */
export function applySummary(result: ApplyResult): string {
  return `### image-syncer apply\n\n\`\`\`text\n${renderApplyResult(result, 'table').replace(/`{3,}/g, "'''")}\`\`\`\n`
}
