/** Test helper: runs `fn`, expects a BadReferenceError and returns it, so a case can check its reason. */
import {thrownBy} from './errors.ts'
import {BadReferenceError} from '../../src/ref/errors.ts'

export const badReference = (fn: () => unknown): BadReferenceError => thrownBy(BadReferenceError, fn)
