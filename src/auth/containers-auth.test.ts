/** podman/containers auth files beside Docker's, read from real files in a temporary home. */
import {afterEach, beforeEach, describe, expect, test} from 'bun:test'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {containersAuthPaths, localLoginKeychain} from './containers-auth.ts'

let home: string
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'image-syncer-podman-'))
})
afterEach(() => rm(home, {recursive: true, force: true}))

const basic = (user: string) => ({auth: Buffer.from(`${user}:pw-${user}`).toString('base64')})
async function writeAuth(path: string, auths: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  await writeFile(path, JSON.stringify({auths}))
}
const resolve = (env: Record<string, string>, registry: string) => localLoginKeychain({env: {HOME: home, PATH: '/usr/bin:/bin', ...env}}).resolve(registry)

describe('containers auth files', () => {
  test('the lookup order of containers-auth.json(5)', () => {
    expect(containersAuthPaths({XDG_RUNTIME_DIR: '/run/user/1000'}, '/home/u')).toEqual([
      '/run/user/1000/containers/auth.json',
      '/home/u/.config/containers/auth.json',
    ])
    expect(containersAuthPaths({XDG_CONFIG_HOME: '/cfg'}, '/home/u')).toEqual(['/cfg/containers/auth.json'])
    expect(containersAuthPaths({REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/run/user/1000'}, '/home/u')).toEqual(['/a.json'])
  })

  test('$XDG_RUNTIME_DIR/containers/auth.json (podman login) is read, before ~/.config and Docker', async () => {
    const runtime = join(home, 'run')
    await writeAuth(join(runtime, 'containers/auth.json'), {'quay.io': basic('runtime')})
    await writeAuth(join(home, '.config/containers/auth.json'), {'quay.io': basic('config'), 'ghcr.io': basic('config')})
    await writeAuth(join(home, '.docker/config.json'), {'quay.io': basic('docker'), 'ghcr.io': basic('docker'), 'registry.example': basic('docker')})
    const env = {XDG_RUNTIME_DIR: runtime}
    expect(await resolve(env, 'quay.io')).toEqual({kind: 'basic', username: 'runtime', password: 'pw-runtime'})
    expect(await resolve(env, 'ghcr.io')).toEqual({kind: 'basic', username: 'config', password: 'pw-config'})
    expect(await resolve(env, 'registry.example')).toEqual({kind: 'basic', username: 'docker', password: 'pw-docker'})
    expect(await resolve(env, 'other.example')).toEqual({kind: 'anonymous'})
  })

  test('REGISTRY_AUTH_FILE replaces the containers defaults; Docker still comes after it', async () => {
    const file = join(home, 'ci-auth.json')
    await writeAuth(file, {'docker.io': basic('explicit')})
    await writeAuth(join(home, '.config/containers/auth.json'), {'docker.io': basic('config'), 'quay.io': basic('config')})
    await writeAuth(join(home, '.docker/config.json'), {'quay.io': basic('docker')})
    const env = {REGISTRY_AUTH_FILE: file}
    expect(await resolve(env, 'index.docker.io')).toEqual({kind: 'basic', username: 'explicit', password: 'pw-explicit'})
    expect(await resolve(env, 'quay.io')).toEqual({kind: 'basic', username: 'docker', password: 'pw-docker'})
  })

  test('no files at all is anonymous; a broken containers file is an error naming it', async () => {
    expect(await resolve({}, 'quay.io')).toEqual({kind: 'anonymous'})
    const file = join(home, '.config/containers/auth.json')
    await mkdir(dirname(file), {recursive: true})
    await writeFile(file, '{not json')
    await expect(resolve({}, 'quay.io')).rejects.toThrow(`${file} is not valid JSON`)
  })
})
