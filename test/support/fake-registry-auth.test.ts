/** The fake registry's Basic and Bearer flows, driven with raw fetch the way a registry client would. */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {MANIFEST_ACCEPT} from '../../src/oci/media-types.ts'
import {type FakeRegistry, startFakeRegistry} from './fake-registry/index.ts'
import {makeImage} from './images.ts'

setDefaultTimeout(10_000)

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
function challenge(response: Response): Record<string, string> {
  const header = response.headers.get('www-authenticate') ?? ''
  const params: Record<string, string> = {scheme: header.split(' ')[0] ?? ''}
  for (const match of header.matchAll(/(\w+)="([^"]*)"/g)) params[match[1]!] = match[2]!
  return params
}

async function token(params: Record<string, string>, authorization?: string): Promise<Response> {
  const url = new URL(params.realm!)
  url.searchParams.set('service', params.service!)
  if (params.scope) url.searchParams.set('scope', params.scope)
  return fetch(url, {headers: authorization ? {Authorization: authorization} : {}})
}

const image = makeImage({flavor: 'oci', seed: 'auth'})

describe('basic auth', () => {
  let registry: FakeRegistry
  beforeAll(async () => {
    registry = await startFakeRegistry({auth: {kind: 'basic', username: 'alice', password: 's3cret'}})
    registry.putManifest('a/b', 'v1', image.bytes, image.mediaType)
  })
  afterAll(() => registry.stop())

  test('401 with a Basic challenge without or with wrong credentials, 200 with the right ones', async () => {
    const url = `${registry.url}/v2/a/b/manifests/v1`
    const anonymous = await fetch(url, {headers: {Accept: MANIFEST_ACCEPT}})
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="fake"')
    const wrong = await fetch(url, {headers: {Accept: MANIFEST_ACCEPT, Authorization: basic('alice', 'nope')}})
    expect(wrong.status).toBe(401)
    const right = await fetch(url, {headers: {Accept: MANIFEST_ACCEPT, Authorization: basic('alice', 's3cret')}})
    expect(right.status).toBe(200)
    expect(right.headers.get('docker-content-digest')).toBe(image.digest)
    expect(registry.requests.map((entry) => [entry.authorization, entry.status])).toEqual([
      ['none', 401],
      ['basic', 401],
      ['basic', 200],
    ])
    expect(JSON.stringify(registry.requests)).not.toContain('s3cret')
  })
})

describe('bearer auth', () => {
  let registry: FakeRegistry
  beforeAll(async () => {
    registry = await startFakeRegistry({
      auth: {kind: 'bearer', users: {bob: 'hunter2'}, service: 'fake.test', identityTokens: ['id-token-1']},
    })
    for (const blob of [image.config, ...image.layers]) registry.putBlob('team/app', blob.bytes)
    registry.putManifest('team/app', 'v1', image.bytes, image.mediaType)
  })
  afterAll(() => registry.stop())

  test('GET /v2/ challenges without a scope', async () => {
    const response = await fetch(`${registry.url}/v2/`)
    expect(response.status).toBe(401)
    expect(challenge(response)).toEqual({scheme: 'Bearer', realm: `${registry.url}/token`, service: 'fake.test'})
  })

  test('challenge → token for the scope → 200; a pull token cannot push → 401 naming pull,push', async () => {
    const url = `${registry.url}/v2/team/app/manifests/v1`
    const first = await fetch(url, {headers: {Accept: MANIFEST_ACCEPT}})
    expect(first.status).toBe(401)
    const pull = challenge(first)
    expect(pull).toEqual({
      scheme: 'Bearer',
      realm: `${registry.url}/token`,
      service: 'fake.test',
      scope: 'repository:team/app:pull',
    })
    const issued = await token(pull, basic('bob', 'hunter2'))
    expect(issued.status).toBe(200)
    const body = (await issued.json()) as {token: string; access_token: string; expires_in: number}
    expect(body.access_token).toBe(body.token)
    expect(body.expires_in).toBe(300)
    const pullHeaders = {Accept: MANIFEST_ACCEPT, Authorization: `Bearer ${body.token}`}
    const second = await fetch(url, {headers: pullHeaders})
    expect(second.status).toBe(200)
    expect(Buffer.from(await second.arrayBuffer()).equals(Buffer.from(image.bytes))).toBe(true)

    // The same token for a push: insufficient scope, and the new challenge names what is needed.
    const put = () =>
      fetch(`${registry.url}/v2/team/app/manifests/v2`, {
        method: 'PUT',
        body: image.bytes,
        headers: {'Content-Type': image.mediaType, Authorization: pullHeaders.Authorization},
      })
    const denied = await put()
    expect(denied.status).toBe(401)
    const push = challenge(denied)
    expect(push.scope).toBe('repository:team/app:pull,push')
    expect(push.error).toBe('insufficient_scope')
    const wider = (await (await token(push, basic('bob', 'hunter2'))).json()) as {token: string}
    pullHeaders.Authorization = `Bearer ${wider.token}`
    expect((await put()).status).toBe(201)

    const logged = registry.tokenRequests.slice(-2)
    expect(logged.map((entry) => entry.granted)).toEqual([['repository:team/app:pull'], ['repository:team/app:pull,push']])
    expect(logged.every((entry) => entry.username === 'bob' && entry.grantType === 'basic')).toBe(true)
    expect(JSON.stringify([registry.requests, registry.tokenRequests])).not.toContain('hunter2')
  })

  test('the token endpoint refuses wrong or missing credentials', async () => {
    const params = {realm: `${registry.url}/token`, service: 'fake.test', scope: 'repository:team/app:pull'}
    expect((await token(params, basic('bob', 'wrong'))).status).toBe(401)
    expect((await token(params)).status).toBe(401)
    expect((await token({...params, service: 'other'}, basic('bob', 'hunter2'))).status).toBe(400)
  })

  test('POST /token: password grant with a refresh token, refresh_token grant, identity tokens', async () => {
    const post = (form: Record<string, string>) => fetch(`${registry.url}/token`, {method: 'POST', body: new URLSearchParams({service: 'fake.test', ...form})})
    const scope = 'repository:team/app:pull repository:other:pull,push'
    const first = await post({
      grant_type: 'password',
      client_id: 'image-syncer',
      access_type: 'offline',
      username: 'bob',
      password: 'hunter2',
      scope,
    })
    expect(first.status).toBe(200)
    const body = (await first.json()) as {access_token: string; refresh_token: string; scope: string}
    expect(body.scope).toBe(scope)
    expect(body.refresh_token).toBeString()
    const refreshed = await post({grant_type: 'refresh_token', refresh_token: body.refresh_token, scope})
    expect(refreshed.status).toBe(200)
    const identity = await post({grant_type: 'refresh_token', refresh_token: 'id-token-1', scope})
    expect(identity.status).toBe(200)
    const {access_token} = (await identity.json()) as {access_token: string}
    const response = await fetch(`${registry.url}/v2/team/app/blobs/${image.config.digest}`, {
      headers: {Authorization: `Bearer ${access_token}`},
    })
    expect(response.status).toBe(200)
    expect((await post({grant_type: 'refresh_token', refresh_token: 'nope', scope})).status).toBe(401)
    expect((await post({grant_type: 'password', username: 'bob', password: 'x'})).status).toBe(401)
    expect((await post({grant_type: 'client_credentials'})).status).toBe(400)
  })
})

describe('bearer auth: anonymous pull, expiry, mount across repositories', () => {
  let registry: FakeRegistry
  beforeAll(async () => {
    registry = await startFakeRegistry({
      auth: {
        kind: 'bearer',
        users: {carol: 'pw'},
        anonymous: true,
        tokenTtlSeconds: 0.3,
        authorize: (subject, _resource, requested) => (subject === null ? requested.filter((action) => action === 'pull') : requested),
      },
    })
    registry.putBlob('src', image.config.bytes)
  })
  afterAll(() => registry.stop())

  const scoped = (scope: string) => ({realm: `${registry.url}/token`, service: 'fake-registry', scope})

  test('anonymous users get pull but not push', async () => {
    const anonymous = (await (await token(scoped('repository:src:pull,push'))).json()) as {token: string}
    expect(registry.tokenRequests.at(-1)?.granted).toEqual(['repository:src:pull'])
    const auth = {Authorization: `Bearer ${anonymous.token}`}
    expect((await fetch(`${registry.url}/v2/src/blobs/${image.config.digest}`, {headers: auth})).status).toBe(200)
    expect((await fetch(`${registry.url}/v2/src/blobs/uploads/`, {method: 'POST', headers: auth})).status).toBe(401)
  })

  test('tokens expire, and the client gets a fresh challenge', async () => {
    const issued = (await (await token(scoped('repository:src:pull'), basic('carol', 'pw'))).json()) as {token: string}
    const url = `${registry.url}/v2/src/blobs/${image.config.digest}`
    const headers = {Authorization: `Bearer ${issued.token}`}
    expect((await fetch(url, {headers, method: 'HEAD'})).status).toBe(200)
    await Bun.sleep(350)
    const expired = await fetch(url, {headers, method: 'HEAD'})
    expect(expired.status).toBe(401)
    expect(challenge(expired).error).toBe('invalid_token')
  })

  test('mount needs pull on the source repository; without it the registry opens an upload (202)', async () => {
    const url = `${registry.url}/v2/dst/blobs/uploads/?mount=${image.config.digest}&from=src`
    const carol = basic('carol', 'pw')
    const targetOnly = (await (await token(scoped('repository:dst:pull,push'), carol)).json()) as {token: string}
    const refused = await fetch(url, {method: 'POST', headers: {Authorization: `Bearer ${targetOnly.token}`}})
    expect(refused.status).toBe(202)
    const both = new URL(`${registry.url}/token?service=fake-registry`)
    both.searchParams.append('scope', 'repository:dst:pull,push')
    both.searchParams.append('scope', 'repository:src:pull')
    const full = (await (await fetch(both, {headers: {Authorization: carol}})).json()) as {token: string}
    const mounted = await fetch(url, {method: 'POST', headers: {Authorization: `Bearer ${full.token}`}})
    expect(mounted.status).toBe(201)
    expect(registry.storage.hasBlob('dst', image.config.digest)).toBe(true)
  })
})
