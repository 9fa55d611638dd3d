/** Test helper: runs `fn`, expects a BadReferenceError and returns it, so a case can check its reason. */
import {BadReferenceError} from './errors.ts'

export function badReference(fn: () => unknown): BadReferenceError {
  try {
    fn()
  } catch (error) {
    if (error instanceof BadReferenceError) return error
    throw new Error(`threw ${String(error)}, want a BadReferenceError`)
  }
  throw new Error('did not throw, want a BadReferenceError')
}
