/**
 * Unsigned OIDC identity tokens for keyless signing against the mock Fulcio, which decodes the JWT without
 * checking its signature and certifies `sub` as the URI SAN and `iss` as the issuer extension.
 */

/** Claims the mock Fulcio reads; anything else is passed through (e.g. GitHub workflow claims). */
export interface FakeClaims {
  sub: string
  iss: string
  [claim: string]: unknown
}

const b64url = (text: string) => Buffer.from(text).toString('base64url')

/** A JWT-shaped token `{"alg":"none"}.<claims>.sig` with `aud: sigstore` and a one-hour lifetime. */
export function fakeIdentityToken(claims: FakeClaims): string {
  const now = Math.floor(Date.now() / 1000)
  const body = {aud: 'sigstore', iat: now, exp: now + 3600, ...claims}
  return `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify(body))}.c2ln`
}
