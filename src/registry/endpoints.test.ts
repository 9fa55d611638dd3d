import {describe, expect, test} from 'bun:test'
import {DOCKER_HUB_API, EndpointError, endpointFor, isLoopbackHost, parseMirrors} from './endpoints.ts'

const none = {insecureRegistries: [], mirrors: {}}

describe('endpointFor', () => {
  const cases: Array<[string, Parameters<typeof endpointFor>[1], {registry: string; baseUrl: string}]> = [
    ['docker.io', none, {registry: 'docker.io', baseUrl: DOCKER_HUB_API}],
    ['quay.io', none, {registry: 'quay.io', baseUrl: 'https://quay.io'}],
    ['127.0.0.1:5000', none, {registry: '127.0.0.1:5000', baseUrl: 'http://127.0.0.1:5000'}],
    ['localhost:5000', none, {registry: 'localhost:5000', baseUrl: 'http://localhost:5000'}],
    ['[::1]:5000', none, {registry: '[::1]:5000', baseUrl: 'http://[::1]:5000'}],
    ['registry.lan:5000', {insecureRegistries: ['registry.lan:5000'], mirrors: {}}, {registry: 'registry.lan:5000', baseUrl: 'http://registry.lan:5000'}],
    ['registry.lan:5000', {insecureRegistries: ['registry.lan'], mirrors: {}}, {registry: 'registry.lan:5000', baseUrl: 'http://registry.lan:5000'}],
    ['registry.lan:5000', {insecureRegistries: ['other.lan'], mirrors: {}}, {registry: 'registry.lan:5000', baseUrl: 'https://registry.lan:5000'}],
    ['docker.io', {insecureRegistries: [], mirrors: {'docker.io': 'http://127.0.0.1:5001'}}, {registry: '127.0.0.1:5001', baseUrl: 'http://127.0.0.1:5001'}],
    ['docker.io', {insecureRegistries: [], mirrors: {'docker.io': 'https://hub-cache.example/'}}, {registry: 'hub-cache.example', baseUrl: 'https://hub-cache.example'}],
    ['quay.io', {insecureRegistries: [], mirrors: {'docker.io': 'https://hub-cache.example'}}, {registry: 'quay.io', baseUrl: 'https://quay.io'}],
  ]
  for (const [registry, options, want] of cases) {
    test(`${registry} with ${JSON.stringify(options)}`, () => {
      expect(endpointFor(registry, options)).toEqual(want)
    })
  }

  test('a plain-HTTP mirror on a non-loopback host must be named insecure', () => {
    const mirrors = {'docker.io': 'http://10.1.2.3:5000'}
    expect(() => endpointFor('docker.io', {insecureRegistries: [], mirrors})).toThrow('mirror 10.1.2.3:5000 uses plain HTTP: allow it with --insecure-registry 10.1.2.3:5000')
    expect(endpointFor('docker.io', {insecureRegistries: ['10.1.2.3:5000'], mirrors}).baseUrl).toBe('http://10.1.2.3:5000')
  })

  test('mirror URLs with a path, credentials or another scheme are refused', () => {
    for (const url of ['https://cache.example/v2', 'https://user:pw@cache.example', 'ftp://cache.example', 'not a url']) {
      expect(() => endpointFor('docker.io', {insecureRegistries: [], mirrors: {'docker.io': url}})).toThrow(EndpointError)
    }
  })
})

describe('parseMirrors', () => {
  test('normalises Docker Hub aliases and keeps the URL', () => {
    expect(parseMirrors(['index.docker.io=http://127.0.0.1:1', 'quay.io = https://q.example'])).toEqual({'docker.io': 'http://127.0.0.1:1', 'quay.io': 'https://q.example'})
  })
  test('refuses entries without HOST=URL', () => {
    for (const bad of ['docker.io', '=http://x', 'docker.io=']) expect(() => parseMirrors([bad])).toThrow('--mirror expects HOST=URL')
  })
})

test('isLoopbackHost', () => {
  expect(['localhost', 'localhost:80', '127.0.0.1', '127.1.2.3:9', '[::1]:5000'].map(isLoopbackHost)).toEqual([true, true, true, true, true])
  expect(['10.0.0.1', '128.0.0.1', 'localhost.example.com', '[::2]:1'].map(isLoopbackHost)).toEqual([false, false, false, false])
})
