/** RFC 8288 `Link` headers, as registries use them to paginate tag lists and referrers listings. */

/** The `rel="next"` target of a Link header, resolved against the page it came with. */
export function nextLink(header: string | null, current: string): string | null {
  if (!header) return null
  for (const part of header.split(',')) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim())
    if (match && /\brel\s*=\s*"?next"?/i.test(match[2]!)) return new URL(match[1]!, current).toString()
  }
  return null
}
