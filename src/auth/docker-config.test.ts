import {afterEach, beforeEach, describe, expect, test} from 'bun:test'
import {mkdir, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {AuthError, type Credential} from './credential.ts'
import {dockerConfigKeychain, dockerConfigPath} from './docker-config.ts'
import {authSandbox, base64, type AuthSandbox} from '../../test/support/auth-sandbox.ts'

let box: AuthSandbox
beforeEach(async () => {
  box = await authSandbox()
})
afterEach(async () => {
  await box.cleanup()
})

/** A keychain over the sandbox: DOCKER_CONFIG set, helpers found only via the sandbox PATH. */
function keychain(extra: {helperTimeoutMs?: number} = {}) {
  return dockerConfigKeychain({env: {DOCKER_CONFIG: box.configDir}, homeDir: box.root, pathEnv: box.pathEnv, ...extra})
}

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof AuthError) return error
    throw error
  }
  throw new Error('expected an AuthError, got a credential')
}

const helperAnswer = (username: string, secret: string) => `printf '{"ServerURL":"%s","Username":"${username}","Secret":"${secret}"}' "$input"`

describe('config file location', () => {
  test('DOCKER_CONFIG wins over the home directory', () => {
    expect(dockerConfigPath({DOCKER_CONFIG: '/x'}, '/home/u')).toBe('/x/config.json')
    expect(dockerConfigPath({}, '/home/u')).toBe('/home/u/.docker/config.json')
    expect(dockerConfigPath({DOCKER_CONFIG: ''}, '/home/u')).toBe('/home/u/.docker/config.json')
  })

  test('reads ~/.docker/config.json when DOCKER_CONFIG is unset', async () => {
    await mkdir(join(box.root, '.docker'))
    await writeFile(join(box.root, '.docker', 'config.json'), JSON.stringify({auths: {'quay.io': {auth: base64('u:p')}}}))
    const chain = dockerConfigKeychain({env: {}, homeDir: box.root, pathEnv: box.pathEnv})
    expect(await chain.resolve('quay.io')).toEqual({kind: 'basic', username: 'u', password: 'p'})
  })

  test('an absent file means anonymous for everything, not an error', async () => {
    expect(await keychain().resolve('quay.io')).toEqual({kind: 'anonymous'})
  })

  test('an empty file is an empty config', async () => {
    await box.writeRaw('docker/config.json', '\n')
    expect(await keychain().resolve('quay.io')).toEqual({kind: 'anonymous'})
  })
})

describe('auths', () => {
  const cases: Array<{name: string; auths: Record<string, unknown>; registry: string; want: Credential}> = [
    {name: 'base64 auth', auths: {'quay.io': {auth: base64('robot:pa:ss')}}, registry: 'quay.io', want: {kind: 'basic', username: 'robot', password: 'pa:ss'}},
    {
      name: 'username/password',
      auths: {'ghcr.io': {username: 'me', password: 'pw'}},
      registry: 'ghcr.io',
      want: {kind: 'basic', username: 'me', password: 'pw'},
    },
    {
      name: 'identitytoken wins over auth',
      auths: {'x.azurecr.io': {auth: base64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'refresh'}},
      registry: 'x.azurecr.io',
      want: {kind: 'identity-token', token: 'refresh'},
    },
    {name: 'registrytoken', auths: {'r.example': {registrytoken: 'access'}}, registry: 'r.example', want: {kind: 'registry-token', token: 'access'}},
    {name: 'https scheme in key', auths: {'https://quay.io': {auth: base64('a:b')}}, registry: 'quay.io', want: {kind: 'basic', username: 'a', password: 'b'}},
    {
      name: 'http scheme, port and path in key',
      auths: {'http://localhost:5000/v2/': {auth: base64('a:b')}},
      registry: 'localhost:5000',
      want: {kind: 'basic', username: 'a', password: 'b'},
    },
    {name: 'port must match', auths: {'localhost:5000': {auth: base64('a:b')}}, registry: 'localhost:5001', want: {kind: 'anonymous'}},
    {name: 'case-insensitive host', auths: {'Quay.IO': {auth: base64('a:b')}}, registry: 'quay.io', want: {kind: 'basic', username: 'a', password: 'b'}},
    {name: 'empty placeholder entry', auths: {'quay.io': {}}, registry: 'quay.io', want: {kind: 'anonymous'}},
    {name: 'other registry', auths: {'quay.io': {auth: base64('a:b')}}, registry: 'ghcr.io', want: {kind: 'anonymous'}},
    {
      name: 'trailing NULs in password are trimmed',
      auths: {'quay.io': {auth: base64('a:b\0\0')}},
      registry: 'quay.io',
      want: {kind: 'basic', username: 'a', password: 'b'},
    },
  ]
  for (const tc of cases) {
    test(tc.name, async () => {
      await box.writeConfig({auths: tc.auths})
      expect(await keychain().resolve(tc.registry)).toEqual(tc.want)
    })
  }

  for (const key of ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']) {
    test(`Docker Hub key ${key} matches every Hub alias`, async () => {
      await box.writeConfig({auths: {[key]: {auth: base64('hubuser:hubpass')}}})
      const chain = keychain()
      for (const registry of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
        expect(await chain.resolve(registry)).toEqual({kind: 'basic', username: 'hubuser', password: 'hubpass'})
      }
    })
  }

  test("Docker's own Hub key is preferred when several keys mean Hub", async () => {
    await box.writeConfig({
      auths: {'docker.io': {auth: base64('second:x')}, 'https://index.docker.io/v1/': {auth: base64('first:y')}},
    })
    expect(await keychain().resolve('docker.io')).toEqual({kind: 'basic', username: 'first', password: 'y'})
  })

  test('an undecodable auth is a DOCKER_CONFIG_INVALID error for that registry only', async () => {
    const path = await box.writeConfig({auths: {'quay.io': {auth: base64('no-colon')}, 'ghcr.io': {auth: base64('a:b')}}})
    const chain = keychain()
    const error = await rejection(chain.resolve('quay.io'))
    expect(error.code).toBe('DOCKER_CONFIG_INVALID')
    expect(error.registry).toBe('quay.io')
    expect(error.message).toContain(path)
    expect(await chain.resolve('ghcr.io')).toEqual({kind: 'basic', username: 'a', password: 'b'})
  })
})

describe('invalid config files', () => {
  test('unparsable JSON names the file, not its contents', async () => {
    const path = await box.writeRaw('docker/config.json', '{"auths": {"quay.io": {"auth": "c2VjcmV0OnRvcHNlY3JldA=="}')
    const error = await rejection(keychain().resolve('quay.io'))
    expect(error.code).toBe('DOCKER_CONFIG_INVALID')
    expect(error.path).toBe(path)
    expect(error.message).toContain(path)
    expect(error.message).not.toContain('c2VjcmV0')
  })

  const shapes: Array<[string, unknown]> = [
    ['top level array', []],
    ['auths not an object', {auths: 'x'}],
    ['auth entry not an object', {auths: {'quay.io': 'x'}}],
    ['auth field not a string', {auths: {'quay.io': {auth: 1}}}],
    ['credsStore with a path', {credsStore: '../../tmp/evil'}],
    ['credHelpers value not a string', {credHelpers: {'quay.io': 1}}],
  ]
  for (const [name, config] of shapes) {
    test(`wrong shape: ${name}`, async () => {
      await box.writeConfig(config)
      expect((await rejection(keychain().resolve('quay.io'))).code).toBe('DOCKER_CONFIG_INVALID')
    })
  }

  test('a config path that is a directory is DOCKER_CONFIG_UNREADABLE', async () => {
    await mkdir(join(box.configDir, 'config.json'))
    expect((await rejection(keychain().resolve('quay.io'))).code).toBe('DOCKER_CONFIG_UNREADABLE')
  })

  test('a config that is a device (a symlink to /dev/zero) is refused at once, not read forever', async () => {
    await symlink('/dev/zero', join(box.configDir, 'config.json'))
    const error = await rejection(keychain().resolve('quay.io'))
    expect(error.code).toBe('DOCKER_CONFIG_UNREADABLE')
    expect(error.message).toBe(`cannot read docker config ${join(box.configDir, 'config.json')}: it is a device, not a regular file`)
  })

  test('a config over 1 MiB is refused without being parsed', async () => {
    await writeFile(join(box.configDir, 'config.json'), JSON.stringify({auths: {}, padding: 'x'.repeat(1024 * 1024)}))
    const error = await rejection(keychain().resolve('quay.io'))
    expect(error.code).toBe('DOCKER_CONFIG_UNREADABLE')
    expect(error.message).toEndWith('more than the 1 MiB allowed')
  })
})

describe('credential helpers', () => {
  test('credsStore answers basic credentials and is asked with the registry host', async () => {
    await box.writeConfig({credsStore: 'store', auths: {'quay.io': {auth: base64('ignored:x')}}})
    await box.writeHelper('store', helperAnswer('robot', 'from-store'))
    expect(await keychain().resolve('https://quay.io/v2/')).toEqual({kind: 'basic', username: 'robot', password: 'from-store'})
    expect(await box.helperCalls('store')).toEqual(['quay.io'])
  })

  test('Docker Hub is asked for as https://index.docker.io/v1/', async () => {
    await box.writeConfig({credHelpers: {'docker.io': 'hub'}})
    await box.writeHelper('hub', helperAnswer('hubuser', 'hubpass'))
    expect(await keychain().resolve('registry-1.docker.io')).toEqual({kind: 'basic', username: 'hubuser', password: 'hubpass'})
    expect(await box.helperCalls('hub')).toEqual(['https://index.docker.io/v1/'])
  })

  test('credHelpers takes precedence over credsStore, per registry', async () => {
    await box.writeConfig({credsStore: 'store', credHelpers: {'https://gcr.io': 'gcr'}})
    await box.writeHelper('store', helperAnswer('s', 'from-store'))
    await box.writeHelper('gcr', helperAnswer('g', 'from-gcr'))
    const chain = keychain()
    expect(await chain.resolve('gcr.io')).toEqual({kind: 'basic', username: 'g', password: 'from-gcr'})
    expect(await chain.resolve('quay.io')).toEqual({kind: 'basic', username: 's', password: 'from-store'})
    expect(await box.helperCalls('gcr')).toEqual(['gcr.io'])
    expect(await box.helperCalls('store')).toEqual(['quay.io'])
  })

  test('Username <token> is an identity token', async () => {
    await box.writeConfig({credsStore: 'store'})
    await box.writeHelper('store', helperAnswer('<token>', 'refresh-token'))
    expect(await keychain().resolve('myregistry.azurecr.io')).toEqual({kind: 'identity-token', token: 'refresh-token'})
  })

  test('"credentials not found" means anonymous, and auths is not consulted', async () => {
    await box.writeConfig({credsStore: 'store', auths: {'quay.io': {auth: base64('a:b')}}})
    await box.writeHelper('store', 'echo "credentials not found in native keychain"; exit 1')
    expect(await keychain().resolve('quay.io')).toEqual({kind: 'anonymous'})
  })

  test('"credentials not found" with exit status 0 is anonymous too', async () => {
    await box.writeConfig({credHelpers: {'quay.io': 'lax'}})
    await box.writeHelper('lax', 'echo "credentials not found"')
    expect(await keychain().resolve('quay.io')).toEqual({kind: 'anonymous'})
  })

  test('an empty Secret means anonymous', async () => {
    await box.writeConfig({credsStore: 'store'})
    await box.writeHelper('store', helperAnswer('', ''))
    expect(await keychain().resolve('quay.io')).toEqual({kind: 'anonymous'})
  })

  test('a helper missing from PATH is CRED_HELPER_NOT_FOUND', async () => {
    await box.writeConfig({credsStore: 'desktop'})
    const error = await rejection(keychain().resolve('quay.io'))
    expect(error.code).toBe('CRED_HELPER_NOT_FOUND')
    expect(error.registry).toBe('quay.io')
    expect(error.message).toContain('docker-credential-desktop')
  })

  test('a failing helper is CRED_HELPER_FAILED with one line of its stderr', async () => {
    await box.writeConfig({credsStore: 'store'})
    await box.writeHelper('store', 'echo "keychain is locked" >&2; echo "second line" >&2; exit 2')
    const error = await rejection(keychain().resolve('quay.io'))
    expect(error.code).toBe('CRED_HELPER_FAILED')
    expect(error.message).toBe('credential helper docker-credential-store for quay.io exited with status 2: keychain is locked')
  })

  test('output that is not JSON is CRED_HELPER_FAILED', async () => {
    await box.writeConfig({credsStore: 'store'})
    await box.writeHelper('store', 'echo "Username: a, Secret: b"')
    expect((await rejection(keychain().resolve('quay.io'))).code).toBe('CRED_HELPER_FAILED')
  })

  test('a helper that does not answer in time is killed', async () => {
    await box.writeConfig({credsStore: 'store'})
    await box.writeHelper('store', 'exec sleep 5')
    const started = performance.now()
    const error = await rejection(keychain({helperTimeoutMs: 200}).resolve('quay.io'))
    expect(error.code).toBe('CRED_HELPER_FAILED')
    expect(error.message).toContain('did not answer within 200 ms')
    expect(performance.now() - started).toBeLessThan(3000)
  })

  // Issue 16: the whole output was buffered before its size was checked (400 MiB printed: 1.3 GiB resident).
  test('a helper that prints far more than 1 MiB is stopped at the bound, on stdout and on stderr', async () => {
    await box.writeConfig({credHelpers: {'quay.io': 'chatty', 'ghcr.io': 'noisy'}})
    // 16 MiB, then a mark that the helper ran to its end: a bounded reader kills it before it gets there.
    await box.writeHelper('chatty', `head -c 16777216 /dev/zero; : > '${join(box.root, 'chatty.finished')}'`)
    await box.writeHelper('noisy', `head -c 16777216 /dev/zero >&2; : > '${join(box.root, 'noisy.finished')}'; exit 1`)
    for (const [registry, helper] of [
      ['quay.io', 'chatty'],
      ['ghcr.io', 'noisy'],
    ] as const) {
      const error = await rejection(keychain().resolve(registry))
      expect({code: error.code, message: error.message}).toEqual({
        code: 'CRED_HELPER_FAILED',
        message: `credential helper docker-credential-${helper} for ${registry} answered with more than 1 MiB of output: it was stopped there`,
      })
      expect(await Bun.file(join(box.root, `${helper}.finished`)).exists()).toBe(false)
    }
  })

  test('concurrent resolves of one registry run the helper once; results are cached', async () => {
    await box.writeConfig({credsStore: 'store'})
    await box.writeHelper('store', `sleep 0.3\n${helperAnswer('u', 'p')}`)
    const chain = keychain()
    const results = await Promise.all([chain.resolve('quay.io'), chain.resolve('https://quay.io'), chain.resolve('QUAY.IO'), chain.resolve('ghcr.io')])
    expect(results.every((c) => c.kind === 'basic')).toBe(true)
    expect(await chain.resolve('quay.io')).toEqual({kind: 'basic', username: 'u', password: 'p'})
    expect((await box.helperCalls('store')).sort()).toEqual(['ghcr.io', 'quay.io'])
  })

  test('a failure is shared by concurrent callers but retried by a later call', async () => {
    await box.writeConfig({credsStore: 'store'})
    const flag = join(box.root, 'fail-once')
    await writeFile(flag, '')
    await box.writeHelper('store', `sleep 0.2\nif [ -e '${flag}' ]; then rm '${flag}'; echo boom >&2; exit 1; fi\n${helperAnswer('u', 'p')}`)
    const chain = keychain()
    const first = await Promise.allSettled([chain.resolve('quay.io'), chain.resolve('quay.io')])
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(await chain.resolve('quay.io')).toEqual({kind: 'basic', username: 'u', password: 'p'})
    expect(await box.helperCalls('store')).toEqual(['quay.io', 'quay.io'])
  })

  test('the helper runs with the given environment and PATH', async () => {
    await box.writeConfig({credsStore: 'store'})
    await box.writeHelper('store', 'printf \'{"Username":"%s","Secret":"%s"}\' "$MY_VAR" "$PATH"')
    const chain = dockerConfigKeychain({env: {DOCKER_CONFIG: box.configDir, MY_VAR: 'v', PATH: '/nowhere'}, pathEnv: box.pathEnv})
    expect(await chain.resolve('quay.io')).toEqual({kind: 'basic', username: 'v', password: box.pathEnv})
  })
})
