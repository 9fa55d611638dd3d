/**
 * Workload identity end to end: plan, apply and re-plan into a registry that accepts only the credential the
 * platform's flow produces, reached by its cloud name through the cloud proxy (test/support/clouds/), with the
 * clouds' token endpoints emulated on loopback behind the overrides their SDKs honour. No docker login exists, so
 * the only way in is the built-in flow; the token must reach the cloud host alone and appear in no output or plan.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {type AwsEmulator, startAwsEmulator} from '../support/clouds/aws.ts'
import {type AzureEmulator, startAzureEmulator} from '../support/clouds/azure.ts'
import {type CloudRoute, startCloudProxy} from '../support/clouds/cloud-proxy.ts'
import {type GoogleEmulator, startGoogleEmulator} from '../support/clouds/google.ts'
import {type AuthOptions, type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {createTestPki, type TestPki} from '../support/test-pki.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(30_000)

let pki: TestPki
let source: FakeRegistry
let google: GoogleEmulator
let aws: AwsEmulator
let azure: AzureEmulator
const image = makeImage({flavor: 'oci'})
let digest: string

beforeAll(async () => {
  pki = await createTestPki()
  source = await startFakeRegistry()
  await pushImage(source.url, 'app', image, '1.0')
  digest = source.storage.repository('app')!.tags.get('1.0')!
  google = startGoogleEmulator()
  aws = startAwsEmulator()
  azure = startAzureEmulator()
})
afterAll(async () => {
  await Promise.all([source.stop(), google.stop(), aws.stop(), azure.stop()])
  await rm(pki.dir, {recursive: true, force: true})
})

interface Case {
  /** The target registry's cloud name. */
  registry: string
  /** What the target registry accepts: only the flow's outcome. */
  auth: AuthOptions
  /** The secret that must stay between us and the registry. */
  secret: () => string
  /** The environment of the flow (besides the proxy and an empty home). */
  env: (dir: string) => Promise<Record<string, string>>
  route?: (upstream: string) => CloudRoute
}

async function mirrorThrough(c: Case): Promise<{dir: string; stdout: string; target: FakeRegistry; connects: string[]; planText: string}> {
  const target = await startFakeRegistry({auth: c.auth, relativeLocations: true})
  const proxy = await startCloudProxy(pki, {[c.registry]: c.route?.(target.url) ?? {upstream: target.url}})
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-identity-'))
  try {
    const definition = join(dir, 'images.yaml')
    await writeFile(definition, `targetRepoPrefix: "${c.registry}/proj/mirror/"\nimages:\n- source: "${source.host}/app:1.0"\n`)
    const env = {
      ...proxy.env,
      HOME: dir,
      DOCKER_CONFIG: dir,
      REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
      SYNCER_CERTS_DIR: '',
      SYNCER_CA_FILE: pki.ca,
      ...(await c.env(dir)),
    }
    await writeFile(join(dir, 'auth.json'), '{"auths": {}}')
    const plan = await runCli(['plan', '-i', definition, '-o', join(dir, 'plan.json'), '--format', 'json'], {env})
    expect({code: plan.exitCode, stderr: plan.stderr}).toEqual({code: 0, stderr: expect.stringContaining('Plan written')})
    const apply = await runCli(['apply', join(dir, 'plan.json'), '--quiet', '--format', 'json'], {env})
    expect({code: apply.exitCode, stderr: apply.stderr}).toEqual({code: 0, stderr: ''})
    const replan = await runCli(['plan', '-i', definition, '-o', join(dir, 'replan.json'), '--format', 'json', '--detailed-exitcode'], {env})
    // --detailed-exitcode: 0 is "nothing to do", the image is there with its digest.
    expect({code: replan.exitCode, stderr: replan.stderr}).toEqual({code: 0, stderr: expect.stringContaining('Plan written')})
    const planText = await readFile(join(dir, 'plan.json'), 'utf8')
    return {dir, stdout: [plan, apply, replan].map((r) => r.stdout + r.stderr).join(''), target, connects: [...proxy.connects], planText}
  } finally {
    await proxy.stop()
    await target.stop()
    await rm(dir, {recursive: true, force: true})
  }
}

async function expectMirrored(c: Case): Promise<void> {
  const run = await mirrorThrough(c)
  expect(run.target.storage.repository(`proj/mirror/${source.host.replace(':', '-')}/app`)?.tags.get('1.0')).toBe(digest as never)
  // The credential went to the cloud name only, never to the source; it is in no output and no plan.
  expect(new Set(run.connects)).toEqual(new Set([`${c.registry}:443`]))
  expect(source.requests.every((r) => r.authorization === 'none')).toBe(true)
  for (const text of [run.stdout, run.planText]) expect(text).not.toContain(c.secret())
}

const googleAuth = (password: () => string): AuthOptions => ({
  kind: 'bearer',
  get users() {
    return {oauth2accesstoken: password()}
  },
})

describe('Google: username oauth2accesstoken and an access token', () => {
  test('GKE workload identity: the metadata server (GCE_METADATA_HOST)', async () => {
    const before = google.calls.length
    await expectMirrored({
      registry: 'europe-docker.pkg.dev',
      auth: googleAuth(() => google.accessToken),
      secret: () => google.accessToken,
      env: async () => ({GCE_METADATA_HOST: google.host}),
    })
    // One token per run (three runs), however many requests the runs made.
    expect(google.calls.slice(before).filter((c) => c.includes('computeMetadata'))).toHaveLength(3)
  })

  test('a service-account key as GOOGLE_APPLICATION_CREDENTIALS: a signed JWT for a token', async () => {
    await expectMirrored({
      registry: 'gcr.io',
      auth: googleAuth(() => google.accessToken),
      secret: () => google.accessToken,
      env: async (dir) => {
        await writeFile(join(dir, 'key.json'), JSON.stringify(google.serviceAccountKey()))
        return {GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'key.json')}
      },
    })
  })

  test("google-github-actions/auth's external_account file: GitHub OIDC → STS → service-account impersonation", async () => {
    await expectMirrored({
      registry: 'us-docker.pkg.dev',
      auth: googleAuth(() => google.accessToken),
      secret: () => google.accessToken,
      env: async (dir) => {
        await writeFile(join(dir, 'gha-creds.json'), JSON.stringify(google.externalAccount({impersonate: true})))
        return {GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'gha-creds.json')}
      },
    })
  })

  test('direct workload identity federation (no impersonation): the STS token itself', async () => {
    await expectMirrored({
      registry: 'asia-docker.pkg.dev',
      auth: googleAuth(() => google.stsToken),
      secret: () => google.stsToken,
      env: async (dir) => {
        await writeFile(join(dir, 'application_default_credentials.json'), JSON.stringify(google.externalAccount({impersonate: false})))
        return {CLOUDSDK_CONFIG: dir}
      },
    })
  })
})

describe('AWS: ECR GetAuthorizationToken, signed with the identity the environment has', () => {
  const ecrAuth = (): AuthOptions => ({kind: 'basic', username: 'AWS', password: aws.ecrPassword})
  const registry = '123456789012.dkr.ecr.eu-west-1.amazonaws.com'

  test('EKS IRSA: the projected token → STS AssumeRoleWithWebIdentity (AWS_ENDPOINT_URL_STS)', async () => {
    const before = aws.calls.length
    await expectMirrored({
      registry,
      auth: ecrAuth(),
      secret: () => aws.ecrPassword,
      env: async (dir) => {
        await writeFile(join(dir, 'token'), aws.webIdentityToken)
        return {AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'), AWS_ROLE_ARN: aws.roleArn, AWS_ENDPOINT_URL_STS: aws.url, AWS_ENDPOINT_URL_ECR: aws.url}
      },
    })
    const calls = aws.calls.slice(before)
    expect(calls.filter((c) => c === 'sts')).toHaveLength(3)
    expect(calls.filter((c) => c.startsWith('ecr '))).toEqual([0, 1, 2].map(() => expect.stringMatching(/^ecr ASIASTS\d+ eu-west-1$/)))
  })

  test('EKS Pod Identity: the agent at AWS_CONTAINER_CREDENTIALS_FULL_URI with the token file', async () => {
    await expectMirrored({
      registry,
      auth: ecrAuth(),
      secret: () => aws.ecrPassword,
      env: async (dir) => {
        await writeFile(join(dir, 'eks-pod-identity-token'), aws.podIdentityToken)
        return {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${aws.url}/v1/credentials`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, 'eks-pod-identity-token'),
          AWS_ENDPOINT_URL_ECR: aws.url,
        }
      },
    })
  })

  test('environment keys (what aws-actions/configure-aws-credentials exports)', async () => {
    await expectMirrored({
      registry,
      auth: ecrAuth(),
      secret: () => aws.ecrPassword,
      env: async () => ({
        AWS_ACCESS_KEY_ID: aws.environmentKeys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: aws.environmentKeys.secretAccessKey,
        AWS_ENDPOINT_URL: aws.url,
      }),
    })
  })
})

describe('Azure: AKS workload identity → Entra ID → the registry’s /oauth2/exchange → a refresh token', () => {
  test('the federated token file of the pod, AZURE_AUTHORITY_HOST for Entra ID', async () => {
    const registry = 'mirrorreg.azurecr.io'
    const before = azure.calls.length
    await expectMirrored({
      registry,
      auth: {
        kind: 'bearer',
        users: {},
        get identityTokens() {
          return [azure.refreshToken]
        },
      },
      secret: () => azure.refreshToken,
      route: (upstream) => azure.route(registry, upstream),
      env: async (dir) => {
        await writeFile(join(dir, 'azure-identity-token'), azure.federatedToken)
        return {
          AZURE_FEDERATED_TOKEN_FILE: join(dir, 'azure-identity-token'),
          AZURE_CLIENT_ID: azure.clientId,
          AZURE_TENANT_ID: azure.tenantId,
          AZURE_AUTHORITY_HOST: `${azure.url}/`,
        }
      },
    })
    expect(azure.calls.slice(before)).toEqual(['entra', `exchange ${registry}`, 'entra', `exchange ${registry}`, 'entra', `exchange ${registry}`])
  })
})

describe('without the flow, or with a broken one', () => {
  const registry = 'refusing.azurecr.io'
  async function planInto(env: Record<string, string>): Promise<{exitCode: number; text: string}> {
    const target = await startFakeRegistry({auth: {kind: 'bearer', users: {}, identityTokens: [azure.refreshToken]}, relativeLocations: true})
    const proxy = await startCloudProxy(pki, {[registry]: azure.route(registry, target.url)})
    const dir = await mkdtemp(join(tmpdir(), 'image-syncer-identity-'))
    try {
      const definition = join(dir, 'images.yaml')
      await writeFile(definition, `targetRepoPrefix: "${registry}/mirror/"\nimages:\n- source: "${source.host}/app:1.0"\n`)
      const base = {...proxy.env, HOME: dir, DOCKER_CONFIG: dir, REGISTRY_AUTH_FILE: join(dir, 'none.json'), SYNCER_CERTS_DIR: '', SYNCER_CA_FILE: pki.ca}
      const run = await runCli(['plan', '-i', definition, '-o', join(dir, 'plan.json'), '--format', 'json'], {env: {...base, ...env}})
      return {exitCode: run.exitCode, text: run.stdout + run.stderr}
    } finally {
      await proxy.stop()
      await target.stop()
      await rm(dir, {recursive: true, force: true})
    }
  }

  test('no identity configured: the registry is asked anonymously, and refuses', async () => {
    const before = azure.calls.length
    const run = await planInto({})
    expect(run.exitCode).not.toBe(0)
    expect(azure.calls.length).toBe(before)
  })

  test('a federated token Entra ID does not take: the run says which step refused, and never quotes the token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'image-syncer-identity-token-'))
    await writeFile(join(dir, 'token'), 'eyJ.not-the-pod-token-at-all')
    const run = await planInto({
      AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'),
      AZURE_CLIENT_ID: azure.clientId,
      AZURE_TENANT_ID: azure.tenantId,
      AZURE_AUTHORITY_HOST: azure.url,
    })
    await rm(dir, {recursive: true, force: true})
    expect(run.exitCode).not.toBe(0)
    expect(run.text).toContain(`${registry}: Entra ID at ${azure.url} refused the request: HTTP 401 (invalid_client)`)
    expect(run.text).not.toContain('not-the-pod-token-at-all')
  })
})
