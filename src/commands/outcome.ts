/** Exit codes and the one-sentence rendering of errors users can act on; anything else is a bug and propagates. */
import {SyncerError} from '../ref/errors.ts'
import type {ApplyResult} from '../apply/model.ts'
import {DefinitionError} from '../definition/errors.ts'
import {printable} from '../ref/text.ts'
import {renderProblems} from '../views/failures.ts'

export const ExitCode = {Ok: 0, Error: 1, Changes: 2, Interrupted: 130} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** A command's own complaint about how it was called. */
export class UsageError extends SyncerError {
  override readonly name = 'UsageError'
  readonly category = 'input' as const
  readonly code = 'USAGE'
}

function renderUserError(err: unknown): string | null {
  if (err instanceof DefinitionError) return renderProblems(err.problems)
  // Messages may quote registries and user files: shown, never obeyed by the terminal.
  return err instanceof SyncerError ? `Error: ${printable(err.message, {multiline: true})}` : null
}

/** Exit code of an apply run: interrupted beats everything; any conflict or failed entry is 1. */
export function applyExitCode(result: ApplyResult): ExitCode {
  if (result.interrupted) return ExitCode.Interrupted
  return result.summary.conflicts + result.summary.failed > 0 ? ExitCode.Error : ExitCode.Ok
}

/** Tells a user error in one sentence and returns exit 1; anything else is a bug and is rethrown. */
export function reportUserError(err: unknown, write: (text: string) => void): ExitCode {
  const rendered = renderUserError(err)
  if (rendered === null) throw err
  write(rendered)
  return ExitCode.Error
}
