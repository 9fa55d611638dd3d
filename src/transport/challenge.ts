/**
 * WWW-Authenticate parsing. The registry's challenge decides how we authenticate: Bearer (token service,
 * Docker Hub style), Basic, or none. A header may carry several challenges (`Negotiate, Bearer realm=…`).
 */
export type Challenge = {scheme: 'basic'; realm?: string} | {scheme: 'bearer'; realm: string; service?: string; scope?: string; error?: string}

interface RawChallenge {
  scheme: string
  params: Record<string, string>
}

/** The challenge we can answer from a header value, Bearer preferred over Basic; null when there is none. */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null
  const challenges = splitChallenges(header)
  const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm)
  if (bearer) {
    const p = bearer.params
    return {
      scheme: 'bearer',
      realm: p.realm!,
      ...(p.service !== undefined ? {service: p.service} : {}),
      ...(p.scope !== undefined ? {scope: p.scope} : {}),
      ...(p.error !== undefined ? {error: p.error} : {}),
    }
  }
  const basic = challenges.find((c) => c.scheme === 'basic')
  if (basic) return {scheme: 'basic', ...(basic.params.realm !== undefined ? {realm: basic.params.realm} : {})}
  return null
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y

/**
 * RFC 9110 challenge list: `scheme [token68 | param=value, …]`, challenges and params separated by commas.
 * A token not followed by `=` starts a new challenge; quoted values may hold commas and escaped quotes.
 */
function splitChallenges(header: string): RawChallenge[] {
  const out: RawChallenge[] = []
  let current: RawChallenge | null = null
  let i = 0
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i]!)) i++
  }
  while (i < header.length) {
    skip(/[\s,]/)
    TOKEN.lastIndex = i
    const token = TOKEN.exec(header)
    if (!token) {
      i++
      continue
    }
    i = TOKEN.lastIndex
    skip(/\s/)
    if (header[i] === '=' && current) {
      i++
      skip(/\s/)
      let value = ''
      if (header[i] === '"') {
        i++
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++
          value += header[i++]
        }
        i++
      } else {
        // Lenient: some registries send unquoted URLs, which are not RFC tokens.
        const end = header.slice(i).search(/[\s,]/)
        value = end === -1 ? header.slice(i) : header.slice(i, i + end)
        i += value.length
      }
      current.params[token[0].toLowerCase()] = value
    } else if (header[i] === '=') {
      // token68 padding or a stray `=`: nothing we use.
      skip(/=/)
    } else {
      current = {scheme: token[0].toLowerCase(), params: {}}
      out.push(current)
    }
  }
  return out
}
