import {describe, expect, test} from 'bun:test'
import {AuthenticationError, MAX_ERROR_BODY_BYTES, NetworkError, networkFailureKind, RegistryError} from './errors.ts'

const URL_ = 'https://r.example.com/v2/library/busybox/manifests/1.36'

describe('RegistryError message', () => {
  const cases: {name: string; init: ConstructorParameters<typeof RegistryError>[0]; want: string}[] = [
    {
      name: 'one diagnostic: METHOD URL: CODE: message',
      init: {method: 'GET', url: URL_, status: 404, diagnostics: [{code: 'MANIFEST_UNKNOWN', message: 'manifest unknown'}]},
      want: `GET ${URL_}: MANIFEST_UNKNOWN: manifest unknown`,
    },
    {
      name: 'several diagnostics are joined with "; "',
      init: {method: 'PUT', url: URL_, status: 400, diagnostics: [{code: 'MANIFEST_INVALID', message: 'bad'}, {code: 'BLOB_UNKNOWN'}]},
      want: `PUT ${URL_}: MANIFEST_INVALID: bad; BLOB_UNKNOWN`,
    },
    {name: 'no diagnostics: the HTTP status', init: {method: 'GET', url: URL_, status: 502}, want: `GET ${URL_}: HTTP 502`},
    {name: 'no diagnostics, with a reason', init: {method: 'GET', url: URL_, status: 502, reason: 'bad gateway'}, want: `GET ${URL_}: bad gateway`},
    {name: 'HEAD says why there is no detail', init: {method: 'HEAD', url: URL_, status: 403}, want: `HEAD ${URL_}: HTTP 403 (HEAD responses have no body)`},
    {
      name: 'the URL is redacted',
      init: {method: 'GET', url: 'https://alice:pw@s3.example.com/b?X-Amz-Signature=secret', status: 403, diagnostics: [{code: 'DENIED', message: 'no'}]},
      want: 'GET https://REDACTED@s3.example.com/b?X-Amz-Signature=REDACTED: DENIED: no',
    },
  ]
  for (const {name, init, want} of cases) {
    test(name, () => {
      const error = new RegistryError(init)
      expect(error.message).toBe(want)
      expect(error.status).toBe(init.status)
      expect(error.method).toBe(init.method)
      expect(error.name).toBe('RegistryError')
      expect(error.url).not.toContain('secret')
    })
  }

  test('hasCode looks at the diagnostics', () => {
    const error = new RegistryError({method: 'GET', url: URL_, status: 404, diagnostics: [{code: 'NAME_UNKNOWN'}, {code: 'MANIFEST_UNKNOWN'}]})
    expect(error.hasCode('MANIFEST_UNKNOWN')).toBe(true)
    expect(error.hasCode('BLOB_UNKNOWN')).toBe(false)
  })
})

describe('RegistryError.fromResponse', () => {
  const json = (body: unknown, status = 404) => new Response(JSON.stringify(body), {status, headers: {'content-type': 'application/json'}})

  test('parses the OCI errors body', async () => {
    const response = json({errors: [{code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: {Tag: '1.36'}}, {code: 'NAME_UNKNOWN'}]})
    const error = await RegistryError.fromResponse('GET', URL_, response)
    expect(error.status).toBe(404)
    expect(error.diagnostics).toStrictEqual([{code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: {Tag: '1.36'}}, {code: 'NAME_UNKNOWN'}])
    expect(error.message).toBe(`GET ${URL_}: MANIFEST_UNKNOWN: manifest unknown; NAME_UNKNOWN`)
  })

  const unusable: {name: string; body: string | null}[] = [
    {name: 'not JSON', body: '<html>502 Bad Gateway</html>'},
    {name: 'JSON without errors', body: '{"message":"nope"}'},
    {name: 'errors that is not a list', body: '{"errors":"nope"}'},
    {name: 'no body', body: null},
  ]
  for (const {name, body} of unusable) {
    test(`a body that is ${name} gives the status alone`, async () => {
      const error = await RegistryError.fromResponse('GET', URL_, new Response(body, {status: 502}))
      expect(error.diagnostics).toStrictEqual([])
      expect(error.message).toBe(`GET ${URL_}: HTTP 502`)
    })
  }

  test('entries without a string code are dropped', async () => {
    const error = await RegistryError.fromResponse(
      'GET',
      URL_,
      json({errors: [{message: 'no code'}, 'text', null, {code: 7}, {code: 'DENIED', message: 42}]}, 403),
    )
    expect(error.diagnostics).toStrictEqual([{code: 'DENIED'}])
  })

  test('a HEAD response body is not read', async () => {
    const response = new Response('{"errors":[{"code":"X"}]}', {status: 404})
    const error = await RegistryError.fromResponse('HEAD', URL_, response)
    expect(error.diagnostics).toStrictEqual([])
    expect(response.bodyUsed).toBe(false)
    expect(error.message).toBe(`HEAD ${URL_}: HTTP 404 (HEAD responses have no body)`)
  })

  test('reads an endless body only up to the bound', async () => {
    const chunk = new Uint8Array(16 * 1024).fill(0x20)
    let pulledBytes = 0
    let cancelled = false
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}],"padding":"'))
      },
      pull(controller) {
        pulledBytes += chunk.byteLength
        controller.enqueue(chunk)
      },
      cancel() {
        cancelled = true
      },
    })
    const error = await RegistryError.fromResponse('GET', URL_, new Response(endless, {status: 429}))
    expect(error.status).toBe(429)
    // The body was cut at the bound, so it is no JSON any more.
    expect(error.diagnostics).toStrictEqual([])
    expect(pulledBytes).toBeLessThanOrEqual(MAX_ERROR_BODY_BYTES + 2 * chunk.byteLength)
    expect(cancelled).toBe(true)
  })

  test('a valid body just under the bound is still parsed', async () => {
    const message = 'x'.repeat(MAX_ERROR_BODY_BYTES - 100)
    const error = await RegistryError.fromResponse('GET', URL_, json({errors: [{code: 'DENIED', message}]}, 403))
    expect(error.diagnostics).toStrictEqual([{code: 'DENIED', message}])
  })
})

describe('NetworkError', () => {
  const cases: {kind: NetworkError['kind']; cause?: unknown; want: string}[] = [
    {kind: 'timeout', want: `GET ${URL_} timed out`},
    {kind: 'aborted', want: `GET ${URL_} aborted`},
    {kind: 'connection', cause: Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}), want: `GET ${URL_} failed: ECONNREFUSED`},
    {kind: 'connection', cause: new Error('socket hang up'), want: `GET ${URL_} failed: socket hang up`},
    {kind: 'connection', cause: 'weird', want: `GET ${URL_} failed: network error`},
    {
      kind: 'tls-certificate',
      cause: Object.assign(new TypeError('unable to verify the first certificate'), {code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'}),
      want: `GET ${URL_} failed: the TLS certificate of r.example.com did not verify (UNABLE_TO_VERIFY_LEAF_SIGNATURE); trust its CA with --ca-file or certs.d/r.example.com/ca.crt`,
    },
    {
      kind: 'tls-handshake',
      cause: Object.assign(new TypeError('EPROTO: The TLS handshake failed'), {code: 'EPROTO'}),
      want: `GET ${URL_} failed: no TLS session with r.example.com (EPROTO): it does not speak TLS on that port, or wants a client certificate (certs.d/r.example.com/client.cert and client.key)`,
    },
  ]
  for (const {kind, cause, want} of cases) {
    test(`${kind}: ${want}`, () => {
      const error = new NetworkError({method: 'GET', url: URL_, kind, cause})
      expect(error.message).toBe(want)
      expect(error.kind).toBe(kind)
    })
  }

  test('the URL is redacted', () => {
    const error = new NetworkError({method: 'GET', url: 'https://bob:pw@r.example.com/v2/?sig=abc', kind: 'timeout'})
    expect(error.message).toBe('GET https://REDACTED@r.example.com/v2/?sig=REDACTED timed out')
  })
})

test('AuthenticationError keeps registry and status', () => {
  const error = new AuthenticationError('r.example.com', 401, 'refused')
  expect([error.name, error.registry, error.status, error.message]).toStrictEqual(['AuthenticationError', 'r.example.com', 401, 'refused'])
})

test('networkFailureKind: certificate failures and EPROTO are TLS kinds, anything else a connection failure', () => {
  const failure = (code?: string) => Object.assign(new TypeError('fetch failed'), code ? {code} : {})
  const codes = ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'EPROTO', 'ECONNREFUSED', undefined]
  expect(codes.map((code) => networkFailureKind(failure(code)))).toEqual([
    'tls-certificate',
    'tls-certificate',
    'tls-certificate',
    'tls-handshake',
    'connection',
    'connection',
  ])
})
