import {describe, expect, test} from 'bun:test'
import {DOCKER_HUB_API, EndpointError, endpointFor, parseMirrors} from './endpoints.ts'

const none = {insecureRegistries: [], mirrors: {}}

describe('endpointFor', () => {
  const cases: Array<[string, Parameters<typeof endpointFor>[1], ReturnType<typeof endpointFor>]> = [
    ['docker.io', none, {registry: 'docker.io', baseUrl: DOCKER_HUB_API, scheme: 'fixed'}],
    ['quay.io', none, {registry: 'quay.io', baseUrl: 'https://quay.io', scheme: 'fixed'}],
    ['127.0.0.1:5000', none, {registry: '127.0.0.1:5000', baseUrl: 'https://127.0.0.1:5000', scheme: 'https-first'}],
    ['localhost:5000', none, {registry: 'localhost:5000', baseUrl: 'https://localhost:5000', scheme: 'https-first'}],
    ['[::1]:5000', none, {registry: '[::1]:5000', baseUrl: 'https://[::1]:5000', scheme: 'https-first'}],
    [
      'registry.lan:5000',
      {insecureRegistries: ['registry.lan:5000'], mirrors: {}},
      {registry: 'registry.lan:5000', baseUrl: 'https://registry.lan:5000', scheme: 'https-first'},
    ],
    [
      'registry.lan:5000',
      {insecureRegistries: ['registry.lan'], mirrors: {}},
      {registry: 'registry.lan:5000', baseUrl: 'https://registry.lan:5000', scheme: 'https-first'},
    ],
    [
      'registry.lan:5000',
      {insecureRegistries: ['other.lan'], mirrors: {}},
      {registry: 'registry.lan:5000', baseUrl: 'https://registry.lan:5000', scheme: 'fixed'},
    ],
    // A mirror's URL names its scheme: no probing.
    [
      'docker.io',
      {insecureRegistries: [], mirrors: {'docker.io': 'http://127.0.0.1:5001'}},
      {registry: '127.0.0.1:5001', baseUrl: 'http://127.0.0.1:5001', scheme: 'fixed'},
    ],
    [
      'docker.io',
      {insecureRegistries: [], mirrors: {'docker.io': 'https://hub-cache.example/'}},
      {registry: 'hub-cache.example', baseUrl: 'https://hub-cache.example', scheme: 'fixed'},
    ],
    [
      'quay.io',
      {insecureRegistries: [], mirrors: {'docker.io': 'https://hub-cache.example'}},
      {registry: 'quay.io', baseUrl: 'https://quay.io', scheme: 'fixed'},
    ],
  ]
  for (const [registry, options, want] of cases) {
    test(`${registry} with ${JSON.stringify(options)}`, () => {
      expect(endpointFor(registry, options)).toEqual(want)
    })
  }

  test('a plain-HTTP mirror on a non-loopback host must be named insecure', () => {
    const mirrors = {'docker.io': 'http://10.1.2.3:5000'}
    expect(() => endpointFor('docker.io', {insecureRegistries: [], mirrors})).toThrow(
      'mirror 10.1.2.3:5000 uses plain HTTP: allow it with --insecure-registry 10.1.2.3:5000',
    )
    expect(endpointFor('docker.io', {insecureRegistries: ['10.1.2.3:5000'], mirrors})).toEqual({
      registry: '10.1.2.3:5000',
      baseUrl: 'http://10.1.2.3:5000',
      scheme: 'fixed',
    })
  })

  test('an unparsable mirror URL is echoed without its userinfo', () => {
    const mirrors = {'docker.io': 'https://alice:s3cret@cache.example:99999'}
    expect(() => endpointFor('docker.io', {insecureRegistries: [], mirrors})).toThrow(
      'mirror for docker.io must be a URL like https://host[:port], got "https://REDACTED@cache.example:99999"',
    )
  })

  test('mirror URLs with a path, credentials or another scheme are refused', () => {
    for (const url of ['https://cache.example/v2', 'https://user:pw@cache.example', 'ftp://cache.example', 'not a url']) {
      expect(() => endpointFor('docker.io', {insecureRegistries: [], mirrors: {'docker.io': url}})).toThrow(EndpointError)
    }
  })
})

describe('parseMirrors', () => {
  test('normalises Docker Hub aliases and keeps the URL', () => {
    expect(parseMirrors(['index.docker.io=http://127.0.0.1:1', 'quay.io = https://q.example'])).toEqual({
      'docker.io': 'http://127.0.0.1:1',
      'quay.io': 'https://q.example',
    })
  })
  test('refuses entries without HOST=URL', () => {
    for (const bad of ['docker.io', '=http://x', 'docker.io=']) expect(() => parseMirrors([bad])).toThrow('--mirror expects HOST=URL')
  })
})
