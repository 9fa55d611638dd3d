/** Everything wrong with a definition file, at once, each with file, line and column. */
import {SyncerError} from '../ref/errors.ts'
export interface Problem {
  file: string
  line: number
  column: number
  message: string
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`
}

export class DefinitionError extends SyncerError {
  override readonly name = 'DefinitionError'
  readonly category = 'input' as const
  readonly code = 'DEFINITION_INVALID'
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map(formatProblem).join('\n'))
  }
}
