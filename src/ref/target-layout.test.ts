/** `oci:DIR/` target prefixes (issue 8): kept apart from target.test.ts, which belongs to the naming rules. */
import {describe, expect, test} from 'bun:test'
import {badReference} from '../../test/support/bad-reference.ts'
import {parseReference} from './reference.ts'
import {formatTargetPrefix, LAYOUT_REGISTRY, layoutDirOf, parseTargetPrefix, targetReference} from './target.ts'

describe('oci: target prefixes', () => {
  test('name a directory, recorded as given with its trailing slash', () => {
    expect(parseTargetPrefix('oci:./mirror')).toStrictEqual({registry: LAYOUT_REGISTRY, pathPrefix: '', layoutDir: './mirror/'})
    expect(formatTargetPrefix(parseTargetPrefix('oci:/srv/air gap/'))).toBe('oci:/srv/air gap/')
    expect(formatTargetPrefix(parseTargetPrefix('eu.gcr.io/team'))).toBe('eu.gcr.io/team/')
  })

  test('targets follow the registry naming rules under the reserved layout host', () => {
    expect(targetReference('oci:./m/', parseReference('busybox:1.36'), '1.36')).toStrictEqual({
      registry: LAYOUT_REGISTRY,
      repository: 'library/busybox',
      tag: '1.36',
    })
    expect(targetReference('oci:./m/', parseReference('localhost:5000/a/b:1'), '1')).toMatchObject({repository: 'localhost-5000/a/b'})
  })

  test('an empty directory or control characters are refused', () => {
    expect(badReference(() => parseTargetPrefix('oci:')).reason).toContain('oci:DIR/')
    expect(badReference(() => layoutDirOf('oci:./a\nb')).reason).toContain('oci:DIR/')
    expect(layoutDirOf('https://hub-cache.example')).toBeNull()
  })
})
