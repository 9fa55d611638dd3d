import {afterAll, describe, expect, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Secrets} from '../ref/secrets.ts'
import {startGoogleEmulator} from '../../test/support/clouds/google.ts'
import {testPace} from '../../test/support/pace.ts'
import {ANONYMOUS} from './credential.ts'
import {multiKeychain, staticKeychain} from './keychain.ts'
import {cloudOf, workloadIdentityKeychain} from './workload-identity.ts'

describe('cloudOf: by the registry name alone', () => {
  const cases: Array<[string, ReturnType<typeof cloudOf>]> = [
    ['gcr.io', 'google'],
    ['eu.gcr.io', 'google'],
    ['europe-west1-docker.pkg.dev', 'google'],
    ['us-docker.pkg.dev', 'google'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'aws'],
    ['123456789012.dkr.ecr-fips.us-east-1.amazonaws.com', 'aws'],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', 'aws'],
    ['myregistry.azurecr.io', 'azure'],
    ['my-registry.azurecr.cn', 'azure'],
    // Look-alikes and neighbours get nothing.
    ['gcr.io.evil.example', null],
    ['notgcr.io', null],
    ['pkg.dev.example', null],
    ['public.ecr.aws', null],
    ['12345.dkr.ecr.eu-west-1.amazonaws.com', null],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example', null],
    ['azurecr.io', null],
    ['evil.azurecr.io.example', null],
    ['docker.io', null],
    ['127.0.0.1:5000', null],
  ]
  for (const [registry, cloud] of cases) test(`${registry} → ${cloud}`, () => expect(cloudOf(registry)).toBe(cloud))
})

describe('workloadIdentityKeychain', () => {
  const google = startGoogleEmulator()
  afterAll(() => google.stop())
  const noGce = {dmiProductFile: '/nonexistent/product_name'}
  const base = {homeDir: '/nonexistent', tls: async () => null, metadataProbe: noGce}

  test('other registries, and a cloud without a configured identity, are anonymous and ask no endpoint', async () => {
    const keychain = workloadIdentityKeychain({...base, env: {}, now: testPace().now})
    for (const registry of ['docker.io', '127.0.0.1:5000', 'gcr.io', 'x.azurecr.io', '123456789012.dkr.ecr.eu-west-1.amazonaws.com']) {
      expect(await keychain.resolve(registry)).toEqual(ANONYMOUS)
    }
    expect(google.calls).toEqual([])
  })

  test('a token is fetched once, kept for its lifetime on the run clock, masked, and renewed before it expires', async () => {
    const pace = testPace()
    const secrets = new Secrets()
    const keychain = workloadIdentityKeychain({...base, env: {GCE_METADATA_HOST: google.host}, now: pace.now, secrets})
    const want = {kind: 'basic' as const, username: 'oauth2accesstoken', password: google.accessToken}
    const answers = await Promise.all([keychain.resolve('gcr.io'), keychain.resolve('europe-docker.pkg.dev'), keychain.resolve('eu.gcr.io')])
    expect(answers).toEqual([want, want, want])
    expect(google.calls).toHaveLength(1)
    expect(secrets.mask(`token ${google.accessToken}`)).toBe('token REDACTED')
    pace.advance(50 * 60_000)
    await keychain.resolve('gcr.io')
    expect(google.calls).toHaveLength(1)
    // The token lives 3599 s: within five minutes of its end a new one is fetched.
    pace.advance(6 * 60_000)
    await keychain.resolve('gcr.io')
    expect(google.calls).toHaveLength(2)
  })

  test('a docker or podman login for the registry comes first: the chain asks the platform last', async () => {
    const login = staticKeychain({'gcr.io': {kind: 'basic', username: 'me', password: 'from-login'}})
    const before = google.calls.length
    const keychain = multiKeychain(login, workloadIdentityKeychain({...base, env: {GCE_METADATA_HOST: google.host}, now: testPace().now}))
    expect(await keychain.resolve('gcr.io')).toEqual({kind: 'basic', username: 'me', password: 'from-login'})
    expect(google.calls.length).toBe(before)
  })

  test("gcloud's own ADC file (authorized_user) in CLOUDSDK_CONFIG: its refresh token for an access token", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'image-syncer-gcloud-'))
    await writeFile(join(dir, 'application_default_credentials.json'), JSON.stringify(google.authorizedUser()))
    const keychain = workloadIdentityKeychain({...base, env: {CLOUDSDK_CONFIG: dir}, now: testPace().now})
    expect(await keychain.resolve('us-docker.pkg.dev')).toEqual({kind: 'basic', username: 'oauth2accesstoken', password: google.accessToken})
    expect(google.calls.at(-1)).toBe('POST /token refresh_token')
    await rm(dir, {recursive: true, force: true})
  })

  test('an ADC file that GOOGLE_APPLICATION_CREDENTIALS names but that is missing stops the run', async () => {
    const keychain = workloadIdentityKeychain({...base, env: {GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/key.json'}, now: testPace().now})
    await expect(keychain.resolve('gcr.io')).rejects.toMatchObject({code: 'WORKLOAD_IDENTITY_FAILED'})
  })

  test('an endpoint override that sends tokens in clear to another machine is refused', async () => {
    const keychain = workloadIdentityKeychain({
      ...base,
      env: {AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'secret', AWS_ENDPOINT_URL_ECR: 'http://ecr.example'},
      now: testPace().now,
    })
    await expect(keychain.resolve('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).rejects.toMatchObject({
      code: 'WORKLOAD_IDENTITY_FAILED',
      message: expect.stringContaining('AWS_ENDPOINT_URL_ECR must be an https URL (http only on loopback)'),
    })
  })
})
