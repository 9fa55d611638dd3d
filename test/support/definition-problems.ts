/** Test helper: the problems a definition parse reports; fails the test when it parses or throws anything else. */
import {DefinitionError, type Problem} from '../../src/definition/errors.ts'

export function definitionProblems(parse: () => unknown, text: string): Problem[] {
  try {
    parse()
  } catch (error) {
    if (error instanceof DefinitionError) return [...error.problems]
    throw new Error(`threw ${String(error)}, want a DefinitionError`)
  }
  throw new Error(`parsed without problems, want a DefinitionError for:\n${text}`)
}
