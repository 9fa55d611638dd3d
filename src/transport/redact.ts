/**
 * URLs reach errors and debug logs; credentials must not. Registries redirect blob reads to pre-signed storage
 * URLs whose query carries signatures, and users may put userinfo in a mirror URL.
 */
const SECRET_QUERY_KEYS =
  /^(x-amz-.*|x-goog-.*|sig|signature|token|access_token|refresh_token|password|se|sp|sv|skoid|sktid|skt|ske|sks|skv|st|expires|key-pair-id|policy|_state)$/i

export function redactUrl(input: string | URL): string {
  let url: URL
  try {
    url = new URL(String(input))
  } catch {
    return '<invalid url>'
  }
  if (url.username || url.password) {
    url.username = url.username ? 'REDACTED' : ''
    url.password = ''
  }
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_QUERY_KEYS.test(key)) url.searchParams.set(key, 'REDACTED')
  }
  return url.toString()
}

/**
 * Free text that may hold a URL, valid or not (a mistyped `--mirror` value echoed in an error): the userinfo
 * of `scheme://user:password@host`, and of a scheme-less `user:password@host`, becomes `REDACTED`.
 */
export function redactUserinfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi, '$1REDACTED@').replace(/(^|[\s="'])[^\s/?#@="':]+:[^\s/?#]*@/g, '$1REDACTED@')
}
