import {describe, expect, test} from 'bun:test'
import {ContentError, type ContentErrorCode, NetworkError, type NetworkErrorKind, RegistryError} from './errors.ts'
import {isTemporary, TEMPORARY_STATUS} from './temporary.ts'

const URL_ = 'https://r.example/v2/acme/app/blobs/uploads/x'

describe('TEMPORARY_STATUS', () => {
  const cases: {status: number; temporary: boolean}[] = [
    {status: 429, temporary: true},
    {status: 500, temporary: true},
    {status: 502, temporary: true},
    {status: 503, temporary: true},
    {status: 504, temporary: true},
    {status: 408, temporary: true},
    {status: 400, temporary: false},
    {status: 401, temporary: false},
    {status: 403, temporary: false},
    {status: 404, temporary: false},
    {status: 501, temporary: false},
  ]
  for (const {status, temporary} of cases) {
    test(`${status} is ${temporary ? '' : 'not '}retried`, () => {
      expect(TEMPORARY_STATUS.has(status)).toBe(temporary)
      expect(isTemporary(new RegistryError({method: 'GET', url: URL_, status}))).toBe(temporary)
    })
  }
})

describe('isTemporary: the one rule for retrying a failed exchange', () => {
  const at = (kind: NetworkErrorKind) => isTemporary(new NetworkError({method: 'GET', url: 'https://r.example/v2/', kind}))
  test('a dropped connection or a timeout is worth another try', () => {
    expect([at('connection'), at('timeout')]).toEqual([true, true])
  })
  test('an abort or TLS that cannot be trusted is final: retrying would only repeat it', () => {
    expect([at('aborted'), at('tls-certificate'), at('tls-handshake')]).toEqual([false, false, false])
  })
})

describe('isTemporary: OCI codes of a transfer gone wrong', () => {
  const refused = (status: number, code: string) => new RegistryError({method: 'PUT', url: URL_, status, diagnostics: [{code: 'UNSUPPORTED'}, {code}]})
  test('a lost upload session or bytes that arrived spoiled: a fresh transfer may succeed, whatever the status', () => {
    expect(isTemporary(refused(404, 'BLOB_UPLOAD_UNKNOWN'))).toBe(true)
    expect(isTemporary(refused(400, 'DIGEST_INVALID'))).toBe(true)
  })
  test('other codes follow the status', () => {
    expect(isTemporary(refused(400, 'MANIFEST_INVALID'))).toBe(false)
    expect(isTemporary(refused(404, 'BLOB_UNKNOWN'))).toBe(false)
    expect(isTemporary(refused(503, 'UNAVAILABLE'))).toBe(true)
  })
})

describe('isTemporary: content', () => {
  test('bytes that did not hash to their digest may arrive intact next time', () => {
    expect(isTemporary(new ContentError('DIGEST_MISMATCH', 'x'))).toBe(true)
  })
  test('a wrong declared size or too many bytes stays so', () => {
    const codes: ContentErrorCode[] = ['SIZE_MISMATCH', 'MANIFEST_TOO_LARGE', 'BLOB_TOO_LARGE']
    expect(codes.map((code) => isTemporary(new ContentError(code, 'x')))).toEqual([false, false, false])
  })
})

test('anything else is final: a bug, an input error, a plain Error', () => {
  expect([new TypeError('x is undefined'), new Error('boom'), 'a string', null].map(isTemporary)).toEqual([false, false, false, false])
})
