/**
 * WWW-Authenticate parsing. The registry's challenge decides how we authenticate: Bearer (token service,
 * Docker Hub style), Basic, or none.
 */
export type Challenge =
  | {scheme: 'basic'; realm?: string}
  | {scheme: 'bearer'; realm: string; service?: string; scope?: string; error?: string}

/** Parses the first Basic or Bearer challenge of a header value; null when there is none we understand. */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header)
  if (!match) return null
  const scheme = match[1]!.toLowerCase()
  const params = parseParams(match[2] ?? '')
  if (scheme === 'basic') return {scheme: 'basic', ...(params.realm ? {realm: params.realm} : {})}
  if (scheme === 'bearer' && params.realm) {
    return {
      scheme: 'bearer',
      realm: params.realm,
      ...(params.service !== undefined ? {service: params.service} : {}),
      ...(params.scope !== undefined ? {scope: params.scope} : {}),
      ...(params.error !== undefined ? {error: params.error} : {}),
    }
  }
  return null
}

/** `key="quoted, value", key2=token` → record; quoted values may contain commas and escaped quotes. */
function parseParams(input: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g
  for (let m = re.exec(input); m; m = re.exec(input)) {
    out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3] ?? ''
  }
  return out
}
