import {afterEach, beforeEach, describe, expect, test} from 'bun:test'
import {AuthError, describeCredential, type Credential} from './credential.ts'
import {dockerConfigKeychain} from './docker-config.ts'
import {jsonKeyCredential} from './key-file.ts'
import {authSandbox, base64, type AuthSandbox} from '../../test/support/auth-sandbox.ts'

describe('describeCredential', () => {
  const cases: Array<[Credential, string]> = [
    [{kind: 'anonymous'}, 'anonymous'],
    [{kind: 'basic', username: 'robot', password: 'hunter2'}, 'basic auth as "robot"'],
    [{kind: 'identity-token', token: 'refresh-secret'}, 'identity token (refresh token)'],
    [{kind: 'registry-token', token: 'access-secret'}, 'registry token (bearer)'],
  ]
  for (const [credential, want] of cases) {
    test(credential.kind, () => {
      expect(describeCredential(credential)).toBe(want)
    })
  }
})

describe('AuthError', () => {
  test('is an Error with a code, and JSON carries only its own fields', () => {
    const error = new AuthError('CRED_HELPER_FAILED', 'failed', {registry: 'quay.io', cause: new Error('inner')})
    expect(error).toBeInstanceOf(Error)
    expect(String(error)).toBe('AuthError: failed')
    expect(JSON.parse(JSON.stringify(error))).toEqual({name: 'AuthError', code: 'CRED_HELPER_FAILED', message: 'failed', registry: 'quay.io'})
  })
})

/**
 * Drives every failure path with secrets planted in the inputs, then serialises the errors every
 * way a caller might (message, String, JSON, Bun.inspect with cause) and looks for the secrets.
 */
describe('no secret reaches an error', () => {
  const SECRET = 'S3CRET-d0-not-leak'
  let box: AuthSandbox
  beforeEach(async () => {
    box = await authSandbox()
  })
  afterEach(async () => {
    await box.cleanup()
  })

  const keychain = () => dockerConfigKeychain({env: {DOCKER_CONFIG: box.configDir}, homeDir: box.root, pathEnv: box.pathEnv})

  async function failure(promise: Promise<unknown>): Promise<AuthError> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    )
    if (!(error instanceof AuthError)) throw new Error(`expected an AuthError, got ${String(error)}`)
    return error
  }

  function expectNoSecret(error: AuthError): void {
    const renderings = [error.message, String(error), JSON.stringify(error), Bun.inspect(error), error.stack ?? '', error.hint ?? '']
    for (const text of renderings) {
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(base64(`user:${SECRET}`))
    }
  }

  const scenarios: Array<[string, () => Promise<AuthError>]> = [
    [
      'unparsable docker config',
      async () => {
        await box.writeRaw('docker/config.json', `{"auths": {"quay.io": {"password": "${SECRET}"}`)
        return failure(keychain().resolve('quay.io'))
      },
    ],
    [
      'docker config with a syntax error right after the secret',
      async () => {
        await box.writeRaw('docker/config.json', `{"auths": {"quay.io": {"auth": "${base64(`user:${SECRET}`)}" x}}}`)
        return failure(keychain().resolve('quay.io'))
      },
    ],
    [
      'auth that is not base64',
      async () => {
        await box.writeConfig({auths: {'quay.io': {auth: `${SECRET}!!`}}})
        return failure(keychain().resolve('quay.io'))
      },
    ],
    [
      'auth without a colon',
      async () => {
        await box.writeConfig({auths: {'quay.io': {auth: base64(SECRET)}}})
        return failure(keychain().resolve('quay.io'))
      },
    ],
    [
      'helper prints its answer and then fails',
      async () => {
        await box.writeConfig({credsStore: 'store'})
        await box.writeHelper('store', `echo '{"Username":"u","Secret":"${SECRET}"}'; exit 1`)
        return failure(keychain().resolve('quay.io'))
      },
    ],
    [
      'helper prints Secret on stderr and fails',
      async () => {
        await box.writeConfig({credsStore: 'store'})
        await box.writeHelper('store', `echo '"Secret": "${SECRET}"' >&2; exit 1`)
        return failure(keychain().resolve('quay.io'))
      },
    ],
    [
      'helper answers broken JSON containing the secret',
      async () => {
        await box.writeConfig({credsStore: 'store'})
        await box.writeHelper('store', `echo '{"Username":"u","Secret":"${SECRET}"'`)
        return failure(keychain().resolve('quay.io'))
      },
    ],
    [
      'helper answers a non-string Secret',
      async () => {
        await box.writeConfig({credsStore: 'store'})
        await box.writeHelper('store', `echo '{"Username":"${SECRET}","Secret":1}'`)
        return failure(keychain().resolve('quay.io'))
      },
    ],
    [
      'key file that is not JSON',
      async () => {
        return failure(jsonKeyCredential(await box.writeRaw('key.json', `{"private_key": "${SECRET}"`)))
      },
    ],
    [
      'key file that is a JSON string',
      async () => {
        return failure(jsonKeyCredential(await box.writeRaw('key.json', `"${SECRET}"`)))
      },
    ],
  ]
  for (const [name, run] of scenarios) {
    test(name, async () => {
      expectNoSecret(await run())
    })
  }

  test('describeCredential never shows the secret', () => {
    const credentials: Credential[] = [
      {kind: 'basic', username: 'u', password: SECRET},
      {kind: 'identity-token', token: SECRET},
      {kind: 'registry-token', token: SECRET},
    ]
    for (const c of credentials) expect(describeCredential(c)).not.toContain(SECRET)
  })
})
