import {describe, expect, test} from 'bun:test'
import type {Credential, Keychain} from './credential.ts'
import {anonymousKeychain, multiKeychain, normaliseRegistryKey, staticKeychain, targetOnlyKeychain} from './keychain.ts'

describe('normaliseRegistryKey', () => {
  const cases: Array<[string, string]> = [
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['DOCKER.IO', 'docker.io'],
    ['https://quay.io', 'quay.io'],
    ['quay.io', 'quay.io'],
    ['http://localhost:5000/v2/', 'localhost:5000'],
    ['localhost:5000', 'localhost:5000'],
    ['Registry.Example.com:443/some/path', 'registry.example.com:443'],
    ['  ghcr.io  ', 'ghcr.io'],
    ['[::1]:5000', '[::1]:5000'],
    ['http://[0:0::1]:5000/v2/', '[::1]:5000'],
    ['my_odd_Key', 'my_odd_key'],
    ['docker.io:5000', 'docker.io:5000'],
  ]
  for (const [input, want] of cases) {
    test(`${input} → ${want}`, () => {
      expect(normaliseRegistryKey(input)).toBe(want)
    })
  }
})

const basic = (username: string): Credential => ({kind: 'basic', username, password: `${username}-pw`})

/** Records which registries it was asked about, so routing can be asserted. */
function recordingKeychain(answer: Credential): Keychain & {asked: string[]} {
  const asked: string[] = []
  return {
    asked,
    resolve: async (registry) => {
      asked.push(registry)
      return answer
    },
  }
}

describe('anonymousKeychain', () => {
  test('answers anonymous for everything', async () => {
    expect(await anonymousKeychain.resolve('quay.io')).toEqual({kind: 'anonymous'})
  })
})

describe('staticKeychain', () => {
  test('matches normalised keys', async () => {
    const chain = staticKeychain({'https://index.docker.io/v1/': basic('hub'), 'http://localhost:5000/v2/': basic('local')})
    expect(await chain.resolve('docker.io')).toEqual(basic('hub'))
    expect(await chain.resolve('registry-1.docker.io')).toEqual(basic('hub'))
    expect(await chain.resolve('localhost:5000')).toEqual(basic('local'))
    expect(await chain.resolve('quay.io')).toEqual({kind: 'anonymous'})
  })

  test('the later of two keys for one registry wins', async () => {
    expect(await staticKeychain({'docker.io': basic('a'), 'index.docker.io': basic('b')}).resolve('docker.io')).toEqual(basic('b'))
  })
})

describe('multiKeychain', () => {
  test('the first non-anonymous answer wins and later chains are not asked', async () => {
    const first = recordingKeychain({kind: 'anonymous'})
    const second = recordingKeychain(basic('second'))
    const third = recordingKeychain(basic('third'))
    expect(await multiKeychain(first, second, third).resolve('quay.io')).toEqual(basic('second'))
    expect([first.asked, second.asked, third.asked]).toEqual([['quay.io'], ['quay.io'], []])
  })

  test('anonymous when every chain is, and when there are none', async () => {
    expect(await multiKeychain(anonymousKeychain, anonymousKeychain).resolve('quay.io')).toEqual({kind: 'anonymous'})
    expect(await multiKeychain().resolve('quay.io')).toEqual({kind: 'anonymous'})
  })

  test('an error stops the search', async () => {
    const broken: Keychain = {resolve: () => Promise.reject(new Error('broken'))}
    const later = recordingKeychain(basic('later'))
    await expect(multiKeychain(broken, later).resolve('quay.io')).rejects.toThrow('broken')
    expect(later.asked).toEqual([])
  })
})

describe('targetOnlyKeychain', () => {
  const token: Credential = {kind: 'registry-token', token: 'access-token'}

  test('the credential goes to the target registry only', async () => {
    const fallback = recordingKeychain(basic('fallback'))
    const chain = targetOnlyKeychain('https://europe-docker.pkg.dev', token, fallback)
    expect(await chain.resolve('europe-docker.pkg.dev')).toEqual(token)
    expect(await chain.resolve('EUROPE-DOCKER.PKG.DEV')).toEqual(token)
    expect(await chain.resolve('docker.io')).toEqual(basic('fallback'))
    expect(await chain.resolve('europe-docker.pkg.dev:5000')).toEqual(basic('fallback'))
    expect(fallback.asked).toEqual(['docker.io', 'europe-docker.pkg.dev:5000'])
  })

  test('Docker Hub aliases count as the same target', async () => {
    const chain = targetOnlyKeychain('index.docker.io', token, anonymousKeychain)
    expect(await chain.resolve('docker.io')).toEqual(token)
  })

  test('an anonymous credential defers the target to the fallback too', async () => {
    const fallback = recordingKeychain(basic('fallback'))
    expect(await targetOnlyKeychain('quay.io', {kind: 'anonymous'}, fallback).resolve('quay.io')).toEqual(basic('fallback'))
  })
})
