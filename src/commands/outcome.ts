/** Exit codes and the one-sentence rendering of errors users can act on; anything else is a bug and propagates. */
import {PlanConflictError} from '../apply/apply.ts'
import {AuthError} from '../auth/credential.ts'
import {DefinitionError} from '../definition/errors.ts'
import {PlanFileError} from '../plan/planfile.ts'
import {BadReferenceError} from '../ref/errors.ts'
import {EndpointError} from '../registry/endpoints.ts'
import {renderProblems} from '../views/failures.ts'

export const ExitCode = {Ok: 0, Error: 1, Changes: 2, Interrupted: 130} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export function renderUserError(err: unknown): string | null {
  if (err instanceof DefinitionError) return renderProblems(err.problems)
  if (err instanceof PlanFileError || err instanceof PlanConflictError || err instanceof EndpointError || err instanceof AuthError || err instanceof BadReferenceError) {
    return `Error: ${err.message}`
  }
  return null
}
