/**
 * The reference layer's one error. Every malformed image reference, target prefix or computed target name
 * ends up here, so callers branch on `code` (or `instanceof`) and show `message`; they never parse the text.
 */
import {abbreviate, MAX_REFERENCE_CHARS} from './text.ts'

/** What was being parsed, so the message says "invalid target prefix" rather than a generic "invalid reference". */
export type ReferenceSubject = 'reference' | 'target prefix' | 'target reference' | 'tag' | 'digest'

/**
 * A string that is not a valid reference. The message is one sentence naming the input and the reason,
 * e.g. `invalid reference "Busybox:1.0": repository name must be lower case`. `input` and `reason` are kept
 * separately so a view can lay them out differently (a config path, a table column) without re-parsing.
 */
export class BadReferenceError extends Error {
  override readonly name = 'BadReferenceError'
  readonly code = 'BAD_REFERENCE'
  readonly input: string
  readonly reason: string
  readonly subject: ReferenceSubject

  constructor(input: string, reason: string, subject: ReferenceSubject = 'reference', options?: ErrorOptions) {
    // JSON.stringify quotes the input and makes stray whitespace or control characters visible (`"a\tb"`);
    // a long input is cut, so a 50 MB string in a definition file does not come back as a 50 MB error.
    super(`invalid ${subject} ${JSON.stringify(abbreviate(input, MAX_REFERENCE_CHARS))}: ${reason}`, options)
    this.input = input
    this.reason = reason
    this.subject = subject
  }
}
