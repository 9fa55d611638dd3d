import {describe, expect, test} from 'bun:test'
import {type Challenge, parseChallenge} from './challenge.ts'

describe('parseChallenge', () => {
  const cases: {header: string | null; want: Challenge | null}[] = [
    {
      header: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      want: {scheme: 'bearer', realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull'},
    },
    // Quoted values may contain commas (several actions in one scope) and spaces.
    {
      header: 'Bearer realm="https://r.example.com/token",scope="repository:team/app:pull,push",service="r.example.com"',
      want: {scheme: 'bearer', realm: 'https://r.example.com/token', service: 'r.example.com', scope: 'repository:team/app:pull,push'},
    },
    {
      header: 'Bearer realm="https://r.example.com/token", service="r example", scope="repository:a:pull repository:b:pull"',
      want: {scheme: 'bearer', realm: 'https://r.example.com/token', service: 'r example', scope: 'repository:a:pull repository:b:pull'},
    },
    {
      header: 'Bearer realm="https://r.example.com/token",service="r.example.com",scope="repository:a:push",error="insufficient_scope"',
      want: {scheme: 'bearer', realm: 'https://r.example.com/token', service: 'r.example.com', scope: 'repository:a:push', error: 'insufficient_scope'},
    },
    // Scheme and parameter names are case-insensitive; unquoted token values are allowed.
    {header: 'bearer Realm=https://r.example.com/token,Service=reg', want: {scheme: 'bearer', realm: 'https://r.example.com/token', service: 'reg'}},
    {header: 'BEARER realm="https://r.example.com/token"', want: {scheme: 'bearer', realm: 'https://r.example.com/token'}},
    // Escaped quotes inside a quoted value.
    {
      header: 'Bearer realm="https://r.example.com/token",service="a \\"quoted\\" name"',
      want: {scheme: 'bearer', realm: 'https://r.example.com/token', service: 'a "quoted" name'},
    },
    {header: 'Basic realm="Registry Realm"', want: {scheme: 'basic', realm: 'Registry Realm'}},
    {header: 'Basic realm="a, b"', want: {scheme: 'basic', realm: 'a, b'}},
    {header: 'basic', want: {scheme: 'basic'}},
    // A bearer challenge is useless without a realm to get the token from.
    {header: 'Bearer service="r.example.com"', want: null},
    {header: 'Bearer', want: null},
    {header: 'Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXegDTALBgkqhkiG9xIBAgKiggFkBIIBYE5FR09FWEFUUwAAAAEAAAA=', want: null},
    {header: '!!!', want: null},
    {header: '   ', want: null},
    {header: '', want: null},
    {header: null, want: null},
  ]
  for (const {header, want} of cases) {
    test(`${JSON.stringify(header)}`, () => {
      expect(parseChallenge(header)).toStrictEqual(want)
    })
  }
})

describe('several challenges in one header', () => {
  test('Bearer is found after another scheme', () => {
    expect(parseChallenge('Negotiate, Bearer realm="https://auth.example/token",service="reg"')).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.example/token',
      service: 'reg',
    })
  })
  test('parameters of one challenge do not leak into another', () => {
    expect(parseChallenge('Basic realm="x", Bearer realm="https://y.example/token"')).toEqual({scheme: 'bearer', realm: 'https://y.example/token'})
    expect(parseChallenge('Basic realm="x", Negotiate abc==')).toEqual({scheme: 'basic', realm: 'x'})
  })
})
