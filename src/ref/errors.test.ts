import {describe, expect, test} from 'bun:test'
import {BadReferenceError, categoryOf} from './errors.ts'
import {LayoutError} from '../registry/layout-errors.ts'
import {NetworkError, RegistryError} from '../transport/errors.ts'

describe('categoryOf, the one error classifier', () => {
  test('a deliberate error says its category', () => {
    expect(categoryOf(new BadReferenceError('X', 'bad'))).toBe('input')
    expect(categoryOf(new NetworkError({method: 'GET', url: 'https://r.example/v2/', kind: 'timeout'}))).toBe('network')
  })

  test('a registry error is classified by its status', () => {
    const at = (status: number) => categoryOf(new RegistryError({method: 'GET', url: 'https://r.example/v2/x/manifests/1', status}))
    expect([at(401), at(403), at(404), at(500), at(400)]).toEqual(['auth', 'auth', 'not-found', 'registry', 'registry'])
  })

  test('absent is one category whichever store answered: a registry 404, a layout without the manifest or blob', () => {
    const absent = [
      new RegistryError({method: 'GET', url: 'https://r.example/v2/x/manifests/sha256:0', status: 404, diagnostics: [{code: 'MANIFEST_UNKNOWN'}]}),
      new LayoutError('MANIFEST_UNKNOWN', '/l', '/l has no manifest v1'),
      new LayoutError('BLOB_UNKNOWN', '/l/blobs/sha256/0', '/l/blobs/sha256/0 is missing'),
    ]
    expect(absent.map(categoryOf)).toEqual(['not-found', 'not-found', 'not-found'])
    // A blob that index.json lists but the layout lost is damage, not absence.
    expect(categoryOf(new LayoutError('BLOB_MISSING', '/l/blobs/sha256/0', 'x'))).toBe('content')
  })

  test('anything else is not classified: it is a bug and propagates', () => {
    expect(categoryOf(new TypeError('x is undefined'))).toBeNull()
    expect(categoryOf('a string')).toBeNull()
  })
})
