/**
 * The reference layer's one error. Every malformed image reference, target prefix or computed target name
 * ends up here, so callers branch on `code` (or `instanceof`) and show `message`; they never parse the text.
 */
import {abbreviate, MAX_REFERENCE_CHARS} from './text.ts'

/**
 * What kind of trouble an error is. Every error the project throws on purpose extends `SyncerError` and says its
 * category, so there is one classifier (`categoryOf`) instead of a list of classes in each caller: planning
 * turns categories into per-entry failure reasons, commands render any SyncerError as one sentence (exit 1),
 * and anything else is a bug that propagates with its stack.
 */
export type ErrorCategory =
  /** The user's input: a definition, reference, plan file, flag or endpoint that is not right. */
  | 'input'
  /** Credentials missing, refused or unusable. */
  | 'auth'
  /** The store (a registry's 404, a layout's missing manifest or blob) says the thing does not exist. */
  | 'not-found'
  /** The registry said something else was wrong (other 4xx/5xx, a protocol the client cannot follow). */
  | 'registry'
  /** No usable answer: refused, reset, timed out, aborted. */
  | 'network'
  /** Bytes that are not what they claim to be (digest mismatch, too large, not a manifest). */
  | 'content'
  /** Signature policy, key or trust material, or a verification that refused an image. */
  | 'signature'
  /** A target that holds other content: never overwritten. */
  | 'conflict'

export abstract class SyncerError extends Error {
  abstract readonly category: ErrorCategory
}

/** The category of a deliberate error; null for anything else (a bug, which callers let propagate). */
export function categoryOf(err: unknown): ErrorCategory | null {
  return err instanceof SyncerError ? err.category : null
}

/** What was being parsed, so the message says "invalid target prefix" rather than a generic "invalid reference". */
export type ReferenceSubject = 'reference' | 'target prefix' | 'target reference' | 'tag' | 'digest'

/**
 * A string that is not a valid reference. The message is one sentence naming the input and the reason,
 * e.g. `invalid reference "Busybox:1.0": repository name must be lower case`. `input` and `reason` are kept
 * separately so a view can lay them out differently (a config path, a table column) without re-parsing.
 */
export class BadReferenceError extends SyncerError {
  override readonly name = 'BadReferenceError'
  readonly category = 'input' as const
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
