import {describe, expect, test} from 'bun:test'
import {badReference} from '../../test/support/bad-reference.ts'
import {BadReferenceError} from './errors.ts'
import {formatReference, parseReference} from './reference.ts'
import {parseTargetPrefix, registryPathComponent, type TargetPrefix, targetReference} from './target.ts'

const SHA = 'sha256:31a54a0cf86d7354788a8265f60ae6acb4b348a67efbcf7c1007dd3cf7af05ab'
const PREFIX = 'eu.gcr.io/kyma-project/external/'

describe('parseTargetPrefix accepts', () => {
  const cases: {prefix: string; want: TargetPrefix}[] = [
    {prefix: PREFIX, want: {registry: 'eu.gcr.io', pathPrefix: 'kyma-project/external/'}},
    // A missing trailing "/" is added.
    {prefix: 'eu.gcr.io/kyma-project/external', want: {registry: 'eu.gcr.io', pathPrefix: 'kyma-project/external/'}},
    {prefix: 'eu.gcr.io', want: {registry: 'eu.gcr.io', pathPrefix: ''}},
    {prefix: 'eu.gcr.io/', want: {registry: 'eu.gcr.io', pathPrefix: ''}},
    {prefix: 'EU.GCR.IO/kyma/', want: {registry: 'eu.gcr.io', pathPrefix: 'kyma/'}},
    {prefix: 'localhost:5000/mirror', want: {registry: 'localhost:5000', pathPrefix: 'mirror/'}},
    {prefix: 'localhost/mirror/', want: {registry: 'localhost', pathPrefix: 'mirror/'}},
    {prefix: '[::1]:5000/m/', want: {registry: '[::1]:5000', pathPrefix: 'm/'}},
    {prefix: 'index.docker.io/myorg/', want: {registry: 'docker.io', pathPrefix: 'myorg/'}},
    {prefix: 'r.io/a__b/c--d/', want: {registry: 'r.io', pathPrefix: 'a__b/c--d/'}},
  ]
  for (const {prefix, want} of cases) {
    test(`parseTargetPrefix(${JSON.stringify(prefix)})`, () => {
      expect(parseTargetPrefix(prefix)).toStrictEqual(want)
    })
  }
})

describe('parseTargetPrefix rejects', () => {
  const longPath = `${'a'.repeat(250)}/`
  const cases: {prefix: string; reason: string}[] = [
    {prefix: '', reason: 'target prefix is empty'},
    {prefix: ' eu.gcr.io/x/', reason: 'target prefix must not contain whitespace'},
    {prefix: 'kyma-project/external/', reason: 'target prefix must start with a registry host (containing "." or ":", or "localhost"), not "kyma-project"'},
    {prefix: 'external', reason: 'target prefix must start with a registry host (containing "." or ":", or "localhost"), not "external"'},
    {prefix: 'eu.gcr.io/Kyma/', reason: 'path prefix must be lower case'},
    {prefix: 'eu.gcr.io//x/', reason: 'target prefix must not contain an empty path component ("//")'},
    {prefix: 'eu.gcr.io/x//', reason: 'target prefix must not contain an empty path component ("//")'},
    {prefix: 'eu.gcr.io//', reason: 'target prefix must not contain an empty path component ("//")'},
    {prefix: 'eu.gcr.io/x:1', reason: 'a target prefix must not contain a tag'},
    {prefix: `eu.gcr.io/x@${SHA}`, reason: 'a target prefix must not contain a digest'},
    {prefix: 'eu.gcr.io/-x/', reason: 'path prefix has an invalid path component "-x": use lower-case letters and digits, separated by ".", "_", "__" or "-"'},
    {prefix: 'bad_host.io/x/', reason: 'registry host "bad_host.io" is invalid: "bad_host" may only hold letters, digits and inner "-"'},
    {prefix: 'localhost:99999/x/', reason: 'port 99999 in "localhost:99999" is out of range (1-65535)'},
    {prefix: `r.io/${longPath}`, reason: 'target prefix leaves no room for a repository name within 255 characters'},
  ]
  for (const {prefix, reason} of cases) {
    test(`parseTargetPrefix(${JSON.stringify(prefix.slice(0, 60))})`, () => {
      const error = badReference(() => parseTargetPrefix(prefix))
      expect(error.reason).toBe(reason)
      expect(error.subject).toBe('target prefix')
      expect(error.message).toBe(`invalid target prefix ${JSON.stringify(prefix)}: ${reason}`)
    })
  }
})

describe('targetReference names', () => {
  const cases: {source: string; tag: string; want: string; prefix?: string}[] = [
    {source: 'cypress/included:9.5.0', tag: '9.5.0', want: `${PREFIX}cypress/included:9.5.0`},
    {source: 'included:9.5.0', tag: '9.5.0', want: `${PREFIX}library/included:9.5.0`},
    {source: 'busybox', tag: '1.36', want: `${PREFIX}library/busybox:1.36`},
    {source: 'docker.io/library/busybox', tag: '1.36', want: `${PREFIX}library/busybox:1.36`},
    {source: 'index.docker.io/busybox:1.36', tag: '1.36', want: `${PREFIX}library/busybox:1.36`},
    {source: 'bitnami/keycloak-gatekeeper:9.0.3', tag: '9.0.3', want: `${PREFIX}bitnami/keycloak-gatekeeper:9.0.3`},
    {source: 'quay.io/prometheus/node-exporter:v1.8.0', tag: 'v1.8.0', want: `${PREFIX}quay.io/prometheus/node-exporter:v1.8.0`},
    {source: 'Quay.IO/prometheus/node-exporter', tag: 'v1.8.0', want: `${PREFIX}quay.io/prometheus/node-exporter:v1.8.0`},
    {source: 'localhost:5000/foo', tag: '1', want: `${PREFIX}localhost-5000/foo:1`},
    {source: 'localhost/foo', tag: '1', want: `${PREFIX}localhost/foo:1`},
    {source: '127.0.0.1:5000/a', tag: '1', want: `${PREFIX}127.0.0.1-5000/a:1`},
    {source: '[::1]:5000/foo', tag: '1', want: `${PREFIX}0_0_0_0_0_0_0_1-5000/foo:1`},
    {source: '[fe80::1]/foo', tag: '1', want: `${PREFIX}fe80_0_0_0_0_0_0_1/foo:1`},
    {source: '[2001:DB8::8a2e:370:7334]:443/x', tag: '1', want: `${PREFIX}2001_db8_0_0_0_8a2e_370_7334-443/x:1`},
    // The target carries the given tag and never the source digest.
    {source: `ghcr.io/org/app:v1@${SHA}`, tag: 'v1', want: `${PREFIX}ghcr.io/org/app:v1`},
    {source: `busybox@${SHA}`, tag: 'mirror-1.36', want: `${PREFIX}library/busybox:mirror-1.36`},
    // The prefix without its trailing "/" means the same; an empty path puts sources at the registry root.
    {source: 'quay.io/x/y', tag: '1', want: `${PREFIX}quay.io/x/y:1`, prefix: 'eu.gcr.io/kyma-project/external'},
    {source: 'quay.io/x/y', tag: '1', want: 'eu.gcr.io/quay.io/x/y:1', prefix: 'eu.gcr.io'},
    {source: 'busybox', tag: '1', want: 'localhost:5000/mirror/library/busybox:1', prefix: 'localhost:5000/mirror'},
  ]
  for (const {source, tag, want, prefix = PREFIX} of cases) {
    test(`targetReference(${JSON.stringify(prefix)}, ${JSON.stringify(source)}, ${JSON.stringify(tag)})`, () => {
      const got = targetReference(prefix, parseReference(source), tag)
      expect(formatReference(got)).toBe(want)
      expect(got.tag).toBe(tag)
      expect('digest' in got).toBe(false)
      // The target is a valid reference in its own right.
      expect(parseReference(formatReference(got))).toStrictEqual(got)
    })
  }

  test('a hand-built Docker Hub source without library/ maps like the parsed one', () => {
    const got = targetReference(PREFIX, {registry: 'index.docker.io', repository: 'busybox'}, '1')
    expect(formatReference(got)).toBe(`${PREFIX}library/busybox:1`)
  })
})

describe('targetReference rejects', () => {
  test('a target name over 255 characters, naming source and prefix', () => {
    const source = parseReference(`quay.io/${'a'.repeat(220)}`)
    const error = badReference(() => targetReference(PREFIX, source, '1'))
    const name = `${PREFIX}quay.io/${'a'.repeat(220)}`
    expect(error.subject).toBe('target reference')
    expect(error.input).toBe(`${name}:1`)
    expect(error.reason).toBe(`name "${name}" is ${name.length} characters, at most 255 are allowed (target of ${formatReference(source)} under "${PREFIX}")`)
    expect(error.cause).toBeInstanceOf(BadReferenceError)
  })
  const badTags: {tag: string; reason: string}[] = [
    {tag: '', reason: 'tag after ":" is empty'},
    {tag: `v${'1'.repeat(128)}`, reason: 'tag must be at most 128 characters, it has 129'},
    {tag: 'v1@x', reason: 'tag "v1@x" is invalid: use letters, digits, "_", "." and "-", and do not start with "." or "-"'},
  ]
  for (const {tag, reason} of badTags) {
    test(`tag ${JSON.stringify(tag.slice(0, 20))}`, () => {
      const error = badReference(() => targetReference(PREFIX, parseReference('busybox'), tag))
      expect(error.subject).toBe('tag')
      expect(error.reason).toBe(reason)
    })
  }
  test('an invalid prefix', () => {
    const error = badReference(() => targetReference('kyma-project/', parseReference('busybox'), '1'))
    expect(error.subject).toBe('target prefix')
  })
})

describe('registryPathComponent', () => {
  const cases: {registry: string; want: string}[] = [
    {registry: 'quay.io', want: 'quay.io'},
    {registry: 'Quay.IO', want: 'quay.io'},
    {registry: 'localhost:5000', want: 'localhost-5000'},
    {registry: '127.0.0.1:5000', want: '127.0.0.1-5000'},
    {registry: '[::1]', want: '0_0_0_0_0_0_0_1'},
    {registry: '[::1]:5000', want: '0_0_0_0_0_0_0_1-5000'},
    {registry: '[::]', want: '0_0_0_0_0_0_0_0'},
    {registry: '[fe80::]:80', want: 'fe80_0_0_0_0_0_0_0-80'},
    {registry: '[2001:0db8:0000:0000:0000:0000:0000:0001]', want: '2001_db8_0_0_0_0_0_1'},
  ]
  for (const {registry, want} of cases) {
    test(`registryPathComponent(${JSON.stringify(registry)}) = ${want}`, () => {
      expect(registryPathComponent(registry)).toBe(want)
    })
  }
})
