/**
 * Text from outside (registries, certificates, a plan file anyone may edit) placed in Markdown that GitHub
 * renders: a pull-request comment, the step summary. Such text is never Markdown or HTML to the renderer: a
 * platform of `linux<!--` would hide the rows after it, `<img …>` and `[text](url)` would render. It goes into a
 * code span, whose content CommonMark shows literally (no tag, link, autolink or emphasis), and within HTML
 * (a `<summary>`) it is entity-escaped.
 */
import {printable} from '../ref/text.ts'

/**
 * `text` as one code span. It is made printable (so one line), a backtick in it would close the span early and
 * becomes `'`. In a table cell (`where: 'table'`) a `|` would still end the cell (GFM splits rows before
 * reading spans): it is written `\|`, and a backslash before it doubled so that it cannot escape that escape.
 */
export function markdownCode(text: string, where: 'text' | 'table' = 'text'): string {
  let literal = printable(text).replace(/`/g, "'")
  if (where === 'table') literal = literal.replace(/(\\*)\|/g, (_, slashes: string) => `${slashes}${slashes}\\|`)
  // An empty span (two backticks) would show as the backticks themselves.
  return `\`${literal || ' '}\``
}

/** `text` as the content of an HTML element (a `<summary>`): printable, and `&`, `<`, `>` as entities. */
export function htmlText(text: string): string {
  return printable(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
