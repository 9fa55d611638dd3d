/**
 * How problems are told: definition errors with positions, and the entries planning could not classify. Both
 * quote text from outside (the definition file, registry error messages), so every line is made printable.
 */
import type {Problem} from '../definition/errors.ts'
import {formatProblem} from '../definition/errors.ts'
import type {EntryFailure} from '../plan/build.ts'
import {printable} from '../ref/text.ts'

export function renderProblems(problems: readonly Problem[]): string {
  const heading = `The definition file has ${problems.length} problem${problems.length === 1 ? '' : 's'}:`
  return `${heading}\n${problems.map((p) => `  ${printable(formatProblem(p))}`).join('\n')}\n`
}

export function renderFailures(definitionPath: string, failures: readonly EntryFailure[]): string {
  const heading = `No plan was written: ${failures.length} entr${failures.length === 1 ? 'y' : 'ies'} could not be classified:`
  const lines = failures.map((f) => `  ${printable(`${definitionPath}:${f.line}: ${f.source}: ${f.message}`)}`)
  return `${heading}\n${lines.join('\n')}\n`
}
