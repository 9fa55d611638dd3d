/**
 * Text that came from outside (registries, certificates, user files) made safe to print. Pure string work, in
 * the lowest layer because errors of every layer above quote such text.
 */

/**
 * Characters a terminal may act on instead of showing: C0 controls (ESC starts ANSI/OSC sequences that can
 * recolour, retitle, hide text or rewrite the screen), DEL, C1 controls (U+009B is a one-character CSI), the
 * line and paragraph separators, and the bidi embeddings, overrides and isolates that reorder what is shown.
 */
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
const UNPRINTABLE_BUT_NEWLINE = /(?!\n)[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/**
 * `text` with each unprintable character written as its escape (`\x1b`, `\x9b`, `\u202e`), so an escape
 * sequence shows as harmless visible text and nothing is hidden from the reader. With `multiline`, `\n` is kept
 * (and `\r\n` becomes `\n`) for our own multi-line messages; single values (a media type, a platform, a registry's
 * error message) are one line, so a stray newline cannot fake a line of output.
 */
export function printable(text: string, options: {multiline?: boolean} = {}): string {
  const source = options.multiline ? text.replace(/\r\n/g, '\n') : text
  return source.replace(options.multiline ? UNPRINTABLE_BUT_NEWLINE : UNPRINTABLE, escapeSequence)
}

function escapeSequence(c: string): string {
  const code = c.charCodeAt(0)
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/**
 * `value` as indented JSON with every unprintable character escaped. JSON.stringify already escapes C0 but writes
 * DEL, C1 and the bidi controls raw; `\u009b` is the same string to a JSON reader, so the data is unchanged and
 * `cat plan.json` cannot drive the terminal. Newlines are kept: inside strings JSON.stringify has escaped them
 * already, so the ones left are the indentation's.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNPRINTABLE_BUT_NEWLINE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** How much of a value an error message quotes: enough to recognise it, never a whole file. */
export const MAX_ECHO_CHARS = 100

/**
 * The longest a valid image reference can be: a 255-character name, `:` and a 128-character tag, `@` and a sha512
 * digest. Reference errors quote up to this much, so only text that cannot be a reference is ever cut.
 */
export const MAX_REFERENCE_CHARS = 520

/**
 * `text` cut to `max` characters with an ellipsis and the full length, for values quoted in messages: a 50 MB
 * string in a definition file must not come back as a 50 MB error.
 */
export function abbreviate(text: string, max = MAX_ECHO_CHARS): string {
  if (text.length <= max) return text
  return `${text.slice(0, max)}… (${text.length} characters)`
}

/**
 * An untrusted value in a message: JSON-quoted, so control characters and stray quotes show as escapes, and cut
 * to `max` characters (the closing quote kept) so a huge value stays readable.
 */
export function quoted(value: unknown, max: number): string {
  const shown = JSON.stringify(value === undefined ? null : value) ?? 'null'
  return shown.length > max ? `${shown.slice(0, max - 3)}…"` : shown
}
