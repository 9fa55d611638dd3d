/**
 * Which hosts may be spoken to over plain HTTP: loopback hosts (what Docker allows without configuration) and
 * the hosts the user named with --insecure-registry. Registry endpoints and token realms follow the same rule.
 */

/** `loopback` and `insecure` allow plain HTTP; credentials go over it only to loopback (they stay on the machine). */
export type PlainHttp = 'loopback' | 'insecure' | 'refused'

export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:\d+$/, '')
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** `insecureHosts` entries are `host` (any port) or `host:port`. */
export function plainHttpFor(hostPort: string, insecureHosts: readonly string[]): PlainHttp {
  const key = hostPort.toLowerCase()
  if (isLoopbackHost(key)) return 'loopback'
  const named = insecureHosts.some((h) => h.toLowerCase() === key || h.toLowerCase() === key.replace(/:\d+$/, ''))
  return named ? 'insecure' : 'refused'
}

/**
 * Whether a URL a registry handed us to go on at (an upload session's Location) may be followed: the token realm's
 * rule, https, or http where plain HTTP is allowed. fetch would read or write a `file:` URL on the local disk.
 */
export function mayFollow(url: URL, insecureHosts: readonly string[]): boolean {
  if (url.protocol === 'https:') return true
  return url.protocol === 'http:' && plainHttpFor(url.host, insecureHosts) !== 'refused'
}

/** `url` moved from the origin of `from` to that of `to` (an https-first endpoint found on plain HTTP). */
export function rebased(url: string, from: string, to: string): string {
  if (from === to || new URL(url).origin !== new URL(from).origin) return url
  const moved = new URL(url)
  const target = new URL(to)
  moved.protocol = target.protocol
  return moved.toString()
}
