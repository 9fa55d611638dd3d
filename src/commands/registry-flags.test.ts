import {describe, expect, test} from 'bun:test'
import {DEFAULT_CERTS_DIRS} from '../registry/certs.ts'
import {EndpointError} from '../registry/endpoints.ts'
import {registryOptions} from './registry-flags.ts'

const log = () => {}

describe('registryOptions', () => {
  test('a mistyped --mirror is refused without echoing the password in its URL', () => {
    for (const mirror of ['https://user:s3cret@hub-cache.example', 'docker.io=https://user:s3cret@hub-cache.example:99999', 'user:s3cret@hub-cache.example']) {
      let err: unknown
      try {
        registryOptions({mirror: [mirror], debug: false}, {}, log)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(EndpointError)
      expect((err as Error).message).not.toContain('s3cret')
      expect((err as Error).message).toContain('REDACTED@hub-cache.example')
    }
  })

  test('the same from SYNCER_MIRRORS', () => {
    expect(() => registryOptions({debug: false}, {SYNCER_MIRRORS: 'https://user:s3cret@hub-cache.example'}, log)).toThrow(
      '--mirror expects HOST=URL, got "https://REDACTED@hub-cache.example"',
    )
  })

  test('CA files from the repeatable flag, else from SYNCER_CA_FILE (comma-separated)', () => {
    expect(registryOptions({'ca-file': ['/a.pem', '/b.pem'], debug: false}, {SYNCER_CA_FILE: '/c.pem'}, log).caFiles).toEqual(['/a.pem', '/b.pem'])
    expect(registryOptions({debug: false}, {SYNCER_CA_FILE: '/c.pem, /d.pem'}, log).caFiles).toEqual(['/c.pem', '/d.pem'])
  })

  test('certs.d directories: the system ones, unless SYNCER_CERTS_DIR is set (even empty)', () => {
    expect(registryOptions({debug: false}, {}, log).certsDirs).toEqual(DEFAULT_CERTS_DIRS)
    expect(registryOptions({debug: false}, {SYNCER_CERTS_DIR: '/tmp/certs.d'}, log).certsDirs).toEqual(['/tmp/certs.d'])
    expect(registryOptions({debug: false}, {SYNCER_CERTS_DIR: ''}, log).certsDirs).toEqual([])
  })
})
