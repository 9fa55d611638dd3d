/** Exit codes and the one-sentence rendering of errors users can act on; anything else is a bug and propagates. */
import {PlanConflictError, PullBudgetError} from '../apply/apply.ts'
import type {ApplyResult} from '../apply/model.ts'
import {AuthError} from '../auth/credential.ts'
import {DefinitionError} from '../definition/errors.ts'
import {PlanFileError} from '../plan/planfile.ts'
import {BadReferenceError} from '../ref/errors.ts'
import {SignatureError} from '../signatures/trust.ts'
import {EndpointError} from '../registry/endpoints.ts'
import {renderProblems} from '../views/failures.ts'

export const ExitCode = {Ok: 0, Error: 1, Changes: 2, Interrupted: 130} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** A command's own complaint about how it was called. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  readonly code = 'USAGE'
}

export function renderUserError(err: unknown): string | null {
  if (err instanceof DefinitionError) return renderProblems(err.problems)
  if (
    err instanceof PlanFileError ||
    err instanceof PlanConflictError ||
    err instanceof PullBudgetError ||
    err instanceof EndpointError ||
    err instanceof AuthError ||
    err instanceof BadReferenceError ||
    err instanceof SignatureError ||
    err instanceof UsageError
  ) {
    return `Error: ${err.message}`
  }
  return null
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
