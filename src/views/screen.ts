/**
 * Text for a terminal of a known width: how wide a string is, how a name too long for its room is shortened, how
 * prose is wrapped, and colour. Everything here takes printable text (views make it so) and measures it as the
 * terminal will (Bun.stringWidth: wide characters count two).
 */

/** A terminal's width and whether colour may be drawn on it (never with NO_COLOR or --no-color, see commands/screen.ts). */
export interface Screen {
  width: number
  colour: 'ansi' | 'none'
}

/** Whether already-present entries are listed, or folded into one line (the default; see the README). */
export type PresentEntries = 'fold' | 'list'

/** How a command's human output is drawn: to a terminal's width, or as stable lines for logs and pipes. */
export type Display = {kind: 'lines'} | {kind: 'screen'; screen: Screen; present: PresentEntries}

export function widthOf(text: string): number {
  return Bun.stringWidth(text)
}

const ELLIPSIS = '…'

/** The first characters of `text` that fit in `room` columns. */
function headOf(chars: readonly string[], room: number): string {
  let out = ''
  for (const c of chars) {
    if (widthOf(out + c) > room) break
    out += c
  }
  return out
}

/** The last characters of `text` that fit in `room` columns. */
function tailOf(chars: readonly string[], room: number): string {
  let out = ''
  for (let i = chars.length - 1; i >= 0; i--) {
    if (widthOf(chars[i]! + out) > room) break
    out = chars[i]! + out
  }
  return out
}

/**
 * `text` in at most `room` columns, shortened in the middle (`127.0.…/postgresql`): the start says where a
 * name lives, the end what it is. `tailShare` of the room goes to the end.
 */
export function shortenMiddle(text: string, room: number, tailShare = 0.5): string {
  if (widthOf(text) <= room) return text
  if (room <= 1) return ELLIPSIS.slice(0, Math.max(0, room))
  const chars = Array.from(text)
  const tailRoom = Math.floor((room - 1) * tailShare)
  return `${headOf(chars, room - 1 - tailRoom)}${ELLIPSIS}${tailOf(chars, tailRoom)}`
}

/** `busybox@sha256:<64 hex>` as `busybox@sha256:<12 hex>`: a digest in a name is shown short, as every digest here. */
export function shortDigestsIn(reference: string): string {
  return reference.replace(/@(sha256|sha512):([a-f0-9]{12})[a-f0-9]+/g, '@$1:$2')
}

/**
 * An image reference in at most `room` columns. The tag (or digest) is what tells two entries apart, so it is
 * kept whole and the repository is shortened in its middle, favouring its end (the image's own name); only a
 * tag too long for any room is itself shortened, still keeping its end.
 */
export function shortenName(reference: string, room: number): string {
  const name = shortDigestsIn(reference)
  if (widthOf(name) <= room) return name
  const at = tagStart(name)
  const tag = name.slice(at)
  if (at <= 0 || widthOf(tag) + 4 > room) return shortenMiddle(name, room, 0.7)
  return `${shortenMiddle(name.slice(0, at), room - widthOf(tag), 0.6)}${tag}`
}

/** Where the `:tag` or `@digest` of a reference starts; the string's length when it has neither. */
function tagStart(reference: string): number {
  const at = reference.indexOf('@')
  if (at >= 0) return at
  const colon = reference.lastIndexOf(':')
  return colon > reference.lastIndexOf('/') ? colon : reference.length
}

/** `target` relative to the prefix every target is said to be in; whole when it lies elsewhere. */
export function relativeTo(prefix: string, target: string): string {
  return prefix !== '' && target.startsWith(prefix) && target.length > prefix.length ? target.slice(prefix.length) : target
}

/**
 * Prose in lines of at most `width` columns, broken at spaces; a word longer than a line (a URL) is broken
 * wherever it must. Line breaks in `text` are kept.
 */
export function wrapWords(text: string, width: number): string[] {
  const room = Math.max(1, width)
  const lines: string[] = []
  for (const paragraph of text.split('\n')) {
    let line = ''
    for (const word of paragraph.split(' ')) {
      const candidate = line === '' ? word : `${line} ${word}`
      if (widthOf(candidate) <= room) {
        line = candidate
        continue
      }
      if (line !== '') lines.push(line)
      line = word
      while (widthOf(line) > room) {
        const head = headOf(Array.from(line), room)
        lines.push(head)
        line = line.slice(head.length)
      }
    }
    lines.push(line)
  }
  return lines
}

/** `text` as lines of `width` columns, each continuation indented like its first line plus two. */
export function wrapIndented(text: string, width: number): string[] {
  return text.split('\n').flatMap((line) => {
    const indent = /^ */.exec(line)![0]
    const words = line.slice(indent.length)
    const [first = ''] = wrapWords(words, width - indent.length)
    const rest = words.slice(first.length).trimStart()
    if (rest === '') return [`${indent}${first}`]
    return [`${indent}${first}`, ...wrapWords(rest, width - indent.length - 2).map((l) => `${indent}  ${l}`)]
  })
}

export type Style = 'green' | 'red' | 'yellow' | 'dim' | 'bold'

const CODES: Readonly<Record<Style, number>> = {green: 32, red: 31, yellow: 33, dim: 2, bold: 1}

/** `text` in `style` when the screen has colour; after layout, so escape codes never count as width. */
export function paint(screen: Screen, style: Style, text: string): string {
  return screen.colour === 'ansi' && text !== '' ? `\x1b[${CODES[style]}m${text}\x1b[0m` : text
}
