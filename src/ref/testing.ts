/** Test helper: runs `fn`, expects a BadReferenceError and returns it, so a case can check its reason. */
import {thrownBy} from '../../test/support/errors.ts'
import {BadReferenceError} from './errors.ts'

export const badReference = (fn: () => unknown): BadReferenceError => thrownBy(BadReferenceError, fn)
