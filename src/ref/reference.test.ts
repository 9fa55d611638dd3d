import {describe, expect, test} from 'bun:test'
import {badReference} from '../../test/support/bad-reference.ts'
import type {Digest} from './digest.ts'
import {DOCKER_HUB, formatReference, isDockerHub, parseReference, type Reference, tagProblem, withDigest, withTag} from './reference.ts'

const SHA: Digest = 'sha256:31a54a0cf86d7354788a8265f60ae6acb4b348a67efbcf7c1007dd3cf7af05ab'
const SHA512: Digest = `sha512:${'ab'.repeat(64)}`
const TAG_128 = `v${'1'.repeat(127)}`
const TAG_129 = `v${'1'.repeat(128)}`

describe('parseReference accepts and normalises', () => {
  const cases: {input: string; want: Reference}[] = [
    {input: 'busybox', want: {registry: 'docker.io', repository: 'library/busybox'}},
    {input: 'busybox:1.0', want: {registry: 'docker.io', repository: 'library/busybox', tag: '1.0'}},
    {input: 'docker.io/busybox', want: {registry: 'docker.io', repository: 'library/busybox'}},
    {input: 'docker.io/library/busybox', want: {registry: 'docker.io', repository: 'library/busybox'}},
    {input: 'index.docker.io/busybox', want: {registry: 'docker.io', repository: 'library/busybox'}},
    {input: 'registry-1.docker.io/library/busybox', want: {registry: 'docker.io', repository: 'library/busybox'}},
    {input: 'Docker.IO/busybox', want: {registry: 'docker.io', repository: 'library/busybox'}},
    {input: 'bitnami/keycloak-gatekeeper:9.0.3', want: {registry: 'docker.io', repository: 'bitnami/keycloak-gatekeeper', tag: '9.0.3'}},
    {input: `busybox@${SHA}`, want: {registry: 'docker.io', repository: 'library/busybox', digest: SHA}},
    {
      input: 'bitnami/postgres-exporter:0.11.1-debian-11-r69',
      want: {registry: 'docker.io', repository: 'bitnami/postgres-exporter', tag: '0.11.1-debian-11-r69'},
    },
    {input: `ghcr.io/org/app:v1@${SHA}`, want: {registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest: SHA}},
    {input: `ghcr.io/org/app@${SHA512}`, want: {registry: 'ghcr.io', repository: 'org/app', digest: SHA512}},
    {input: 'Quay.IO/prometheus/node-exporter:v1.8.0', want: {registry: 'quay.io', repository: 'prometheus/node-exporter', tag: 'v1.8.0'}},
    {input: 'quay.io/single', want: {registry: 'quay.io', repository: 'single'}},
    {input: 'localhost/foo', want: {registry: 'localhost', repository: 'foo'}},
    {input: 'LOCALHOST/foo', want: {registry: 'localhost', repository: 'foo'}},
    {input: 'localhost:5000/foo', want: {registry: 'localhost:5000', repository: 'foo'}},
    {input: '127.0.0.1:5000/foo:1', want: {registry: '127.0.0.1:5000', repository: 'foo', tag: '1'}},
    {input: '[::1]:5000/foo', want: {registry: '[::1]:5000', repository: 'foo'}},
    {input: '[::1]/foo:1', want: {registry: '[::1]', repository: 'foo', tag: '1'}},
    {input: '[0:0:0:0:0:0:0:1]:5000/foo', want: {registry: '[::1]:5000', repository: 'foo'}},
    {input: '[2001:DB8::1]:5000/a/b', want: {registry: '[2001:db8::1]:5000', repository: 'a/b'}},
    {input: 'docker.io:5000/foo', want: {registry: 'docker.io:5000', repository: 'foo'}},
    {input: 'a__b/c---d.e_f:latest', want: {registry: 'docker.io', repository: 'a__b/c---d.e_f', tag: 'latest'}},
    {input: 'my-registry.example.com/a.b/c_d/e--f/g', want: {registry: 'my-registry.example.com', repository: 'a.b/c_d/e--f/g'}},
    {input: `busybox:${TAG_128}`, want: {registry: 'docker.io', repository: 'library/busybox', tag: TAG_128}},
    {input: 'busybox:V1.0-RC_1', want: {registry: 'docker.io', repository: 'library/busybox', tag: 'V1.0-RC_1'}},
    {input: 'busybox:_x', want: {registry: 'docker.io', repository: 'library/busybox', tag: '_x'}},
    // A lone name with a dot is still a Docker Hub name: a host needs a path after it.
    {input: 'foo.bar', want: {registry: 'docker.io', repository: 'library/foo.bar'}},
    // As in `docker pull`: with no "/", "localhost:5000" is the Hub image "localhost" tagged "5000".
    {input: 'localhost:5000', want: {registry: 'docker.io', repository: 'library/localhost', tag: '5000'}},
    // Exactly 255 characters of registry/repository.
    {input: `r.io/${'a'.repeat(250)}`, want: {registry: 'r.io', repository: 'a'.repeat(250)}},
  ]
  for (const {input, want} of cases) {
    test(`parseReference(${JSON.stringify(input)})`, () => {
      const got = parseReference(input)
      expect(got).toStrictEqual(want)
      // Formatting is canonical: it parses back to the same reference.
      expect(parseReference(formatReference(got))).toStrictEqual(want)
    })
  }
})

describe('parseReference rejects', () => {
  const cases: {input: string; reason: string}[] = [
    {input: '', reason: 'reference is empty'},
    {input: 'Busybox:1.0', reason: 'repository name must be lower case'},
    {input: 'bitnami/Keycloak', reason: 'repository name must be lower case'},
    // An upper-case first component is not a host (unlike distribution/reference): the user meant Docker Hub.
    {input: 'Bitnami/redis', reason: 'repository name must be lower case'},
    {input: 'Quay.io/Prometheus/node-exporter', reason: 'repository name must be lower case'},
    {input: 'busybox:', reason: 'tag after ":" is empty'},
    {input: `busybox:@${SHA}`, reason: 'tag after ":" is empty'},
    {input: `busybox:${TAG_129}`, reason: 'tag must be at most 128 characters, it has 129'},
    {input: 'busybox:.hidden', reason: 'tag ".hidden" is invalid: use letters, digits, "_", "." and "-", and do not start with "." or "-"'},
    {input: 'busybox:-x', reason: 'tag "-x" is invalid: use letters, digits, "_", "." and "-", and do not start with "." or "-"'},
    {input: 'busybox@', reason: 'digest after "@" is empty'},
    {input: 'busybox@sha256:abc', reason: 'sha256 digest must have 64 hex characters, "sha256:abc" has 3'},
    {input: `busybox@${SHA.slice(0, -1)}`, reason: `sha256 digest must have 64 hex characters, "${SHA.slice(0, -1)}" has 63`},
    {
      input: `busybox@${SHA.toUpperCase().replace('SHA256', 'sha256')}`,
      reason: `digest "${SHA.toUpperCase().replace('SHA256', 'sha256')}" must be lower-case hex`,
    },
    {input: `busybox@md5:${'a'.repeat(32)}`, reason: `unsupported digest algorithm "md5" in "md5:${'a'.repeat(32)}" (sha256 or sha512)`},
    {input: 'busybox@sha256', reason: '"sha256" is not a digest (expected algorithm:hex)'},
    {input: `busybox@${SHA}@${SHA}`, reason: 'reference must contain at most one "@"'},
    {input: `@${SHA}`, reason: 'repository name is empty'},
    {input: ':1.0', reason: 'repository name is empty'},
    {input: ' busybox', reason: 'reference must not contain whitespace'},
    {input: 'busy box', reason: 'reference must not contain whitespace'},
    {input: 'busybox:1.0\n', reason: 'reference must not contain whitespace'},
    {input: 'busybox/', reason: 'repository name must not end with "/"'},
    {input: 'quay.io/', reason: 'repository name must not end with "/"'},
    {input: '/busybox', reason: 'repository name must not start with "/"'},
    {input: 'foo//bar', reason: 'repository name must not contain an empty path component ("//")'},
    {input: 'quay.io//bar', reason: 'repository name must not contain an empty path component ("//")'},
    ...['-foo', 'foo-', 'foo_-bar', 'foo___bar', 'foo..bar', '.foo', 'foo._bar', 'a/b+c'].map((input) => ({
      input,
      reason: `repository name has an invalid path component "${input.split('/').pop()}": use lower-case letters and digits, separated by ".", "_", "__" or "-"`,
    })),
    {
      input: 'busybox:1.0:2',
      reason: 'repository name has an invalid path component "busybox:1.0": use lower-case letters and digits, separated by ".", "_", "__" or "-"',
    },
    {input: 'localhost:/foo', reason: 'port after ":" in "localhost:" is empty'},
    {input: 'localhost:abc/foo', reason: 'port "abc" in "localhost:abc" must be a number'},
    {input: 'localhost:70000/foo', reason: 'port 70000 in "localhost:70000" is out of range (1-65535)'},
    {input: 'localhost:0/foo', reason: 'port 0 in "localhost:0" is out of range (1-65535)'},
    {input: '::1/foo', reason: 'an IPv6 address must be written in brackets, e.g. "[::1]:5000", not "::1"'},
    {input: 'fe80::1:5000/foo', reason: 'an IPv6 address must be written in brackets, e.g. "[::1]:5000", not "fe80::1:5000"'},
    {input: '[::1/foo', reason: 'IPv6 address in "[::1" has no closing "]"'},
    {input: '[::1]x:5000/foo', reason: 'unexpected "x:5000" after the IPv6 address in "[::1]x:5000"'},
    {input: '[::g]/foo', reason: '"[::g]" is not a valid IPv6 address'},
    {input: '[1:2]/foo', reason: '"[1:2]" is not a valid IPv6 address'},
    {input: '[fe80::1%eth0]/foo', reason: '"[fe80::1%eth0]" is not a valid IPv6 address'},
    {input: 'my_registry.io/foo', reason: 'registry host "my_registry.io" is invalid: "my_registry" may only hold letters, digits and inner "-"'},
    {input: '-reg.io/foo', reason: 'registry host "-reg.io" is invalid: "-reg" may only hold letters, digits and inner "-"'},
    {input: 'quay..io/foo', reason: 'registry host "quay..io" has an empty label (leading, trailing or double ".")'},
    {input: 'quay.io./foo', reason: 'registry host "quay.io." has an empty label (leading, trailing or double ".")'},
    {input: `r.io/${'a'.repeat(251)}`, reason: `name "r.io/${'a'.repeat(251)}" is 256 characters, at most 255 are allowed`},
    // The limit applies to the normalised name: 238 characters become docker.io/library/ + 238 = 256.
    {input: 'a'.repeat(238), reason: `name "docker.io/library/${'a'.repeat(238)}" is 256 characters, at most 255 are allowed`},
  ]
  for (const {input, reason} of cases) {
    test(`parseReference(${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input)})`, () => {
      const error = badReference(() => parseReference(input))
      expect(error.reason).toBe(reason)
      expect(error.input).toBe(input)
      expect(error.message).toBe(`invalid reference ${JSON.stringify(input)}: ${reason}`)
    })
  }
})

describe('BadReferenceError', () => {
  test('has the documented shape and a one-sentence message', () => {
    const error = badReference(() => parseReference('Busybox:1.0'))
    expect(error).toBeInstanceOf(Error)
    expect(error.code).toBe('BAD_REFERENCE')
    expect(error.name).toBe('BadReferenceError')
    expect(error.subject).toBe('reference')
    expect(error.message).toBe('invalid reference "Busybox:1.0": repository name must be lower case')
  })
})

describe('formatReference', () => {
  const cases: {ref: Reference; want: string}[] = [
    {ref: {registry: 'docker.io', repository: 'library/busybox', tag: '1.0'}, want: 'docker.io/library/busybox:1.0'},
    {ref: {registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest: SHA}, want: `ghcr.io/org/app:v1@${SHA}`},
    {ref: {registry: 'ghcr.io', repository: 'org/app', digest: SHA}, want: `ghcr.io/org/app@${SHA}`},
    {ref: {registry: '[::1]:5000', repository: 'foo'}, want: '[::1]:5000/foo'},
  ]
  for (const {ref, want} of cases) {
    test(`formatReference → ${want}`, () => {
      expect(formatReference(ref)).toBe(want)
    })
  }
  test('every spelling of a Docker Hub image formats to one string', () => {
    const spellings = ['busybox', 'library/busybox', 'docker.io/busybox', 'index.docker.io/library/busybox', 'registry-1.docker.io/busybox']
    const got = new Set(spellings.map((input) => formatReference(parseReference(input))))
    expect([...got]).toEqual(['docker.io/library/busybox'])
  })
})

describe('isDockerHub', () => {
  const cases: {registry: string; want: boolean}[] = [
    {registry: DOCKER_HUB, want: true},
    {registry: 'index.docker.io', want: true},
    {registry: 'registry-1.docker.io', want: true},
    {registry: 'Docker.IO', want: true},
    {registry: 'docker.io:443', want: false},
    {registry: 'quay.io', want: false},
    {registry: 'mirror.docker.io.example.com', want: false},
  ]
  for (const {registry, want} of cases) {
    test(`isDockerHub(${JSON.stringify(registry)}) = ${want}`, () => {
      expect(isDockerHub(registry)).toBe(want)
    })
  }
})

describe('withTag and withDigest', () => {
  const base = parseReference(`ghcr.io/org/app:v1@${SHA}`)
  test('withTag replaces the tag and keeps the digest', () => {
    expect(withTag(base, 'v2')).toStrictEqual({registry: 'ghcr.io', repository: 'org/app', tag: 'v2', digest: SHA})
  })
  test('withDigest replaces the digest and keeps the tag', () => {
    expect(withDigest(base, SHA512)).toStrictEqual({registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest: SHA512})
  })
  test('withTag rejects an invalid tag', () => {
    const error = badReference(() => withTag(base, TAG_129))
    expect(error.message).toBe(`invalid tag "${TAG_129}": tag must be at most 128 characters, it has 129`)
  })
  test('withDigest rejects an invalid digest', () => {
    const error = badReference(() => withDigest(base, 'sha256:abc'))
    expect(error.message).toBe('invalid digest "sha256:abc": sha256 digest must have 64 hex characters, "sha256:abc" has 3')
  })
})

describe('tagProblem', () => {
  const cases: {tag: string; want: string | null}[] = [
    {tag: 'latest', want: null},
    {tag: TAG_128, want: null},
    {tag: '0.11.1-debian-11-r69', want: null},
    {tag: '', want: 'tag after ":" is empty'},
    {tag: TAG_129, want: 'tag must be at most 128 characters, it has 129'},
    {tag: 'a/b', want: 'tag "a/b" is invalid: use letters, digits, "_", "." and "-", and do not start with "." or "-"'},
  ]
  for (const {tag, want} of cases) {
    test(`tagProblem(${JSON.stringify(tag.slice(0, 20))})`, () => {
      expect(tagProblem(tag)).toBe(want)
    })
  }
})
