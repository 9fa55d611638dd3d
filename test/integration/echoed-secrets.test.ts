/**
 * A target registry that quotes our credentials in its error body (the Authorization header as sent, the
 * basic-auth password): apply's stdout and stderr, its JSON, its result file, the step summary and `report` hold
 * none of them, neither the password from the docker config nor the bearer token the run obtained.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {echoCredentials, type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage} from '../support/images.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(60_000)

const BASIC = {username: 'bob', password: 'basic-Pa55word-echoed'}
const BEARER = {username: 'alice', password: 'token-service-Pa55word'}

let source: FakeRegistry
let basicTarget: FakeRegistry
let bearerTarget: FakeRegistry
let dir: string

const base64 = (text: string) => Buffer.from(text).toString('base64')

beforeAll(async () => {
  ;[source, basicTarget, bearerTarget] = await Promise.all([
    startFakeRegistry(),
    startFakeRegistry({auth: {kind: 'basic', ...BASIC}}),
    startFakeRegistry({auth: {kind: 'bearer', users: {[BEARER.username]: BEARER.password}}}),
  ])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-echoed-secrets-'))
  const auths = {
    [basicTarget.host]: {auth: base64(`${BASIC.username}:${BASIC.password}`)},
    [bearerTarget.host]: {auth: base64(`${BEARER.username}:${BEARER.password}`)},
  }
  await writeFile(join(dir, 'config.json'), JSON.stringify({auths}))
  const image = makeImage({flavor: 'oci'})
  for (const blob of [image.config, ...image.layers]) source.putBlob('acme/app', blob.bytes)
  source.putManifest('acme/app', '1', image.bytes, image.mediaType)
})

afterAll(async () => {
  await Promise.all([source.stop(), basicTarget.stop(), bearerTarget.stop()])
  await rm(dir, {recursive: true, force: true})
})

describe('credentials a registry echoes in its error body', () => {
  for (const [kind, credential, target] of [
    ['basic auth', BASIC, () => basicTarget],
    ['a bearer token', BEARER, () => bearerTarget],
  ] as const) {
    test(`${kind}: masked in apply's output, JSON, result file and step summary, and in report`, async () => {
      const name = kind.replace(/ /g, '-')
      const summary = join(dir, `${name}.summary.md`)
      const env = {DOCKER_CONFIG: dir, SYNCER_QUIET: 'false', GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary}
      const definition = join(dir, `${name}.yaml`)
      await writeFile(definition, `targetRepoPrefix: "${target().host}/mirror/"\nimages:\n- source: "${source.host}/acme/app:1"\n`)
      const plan = join(dir, `${name}.plan.json`)
      const planned = await runCli(['plan', '-i', definition, '-o', plan], {env})
      expect(planned.exitCode, planned.stderr).toBe(0)

      const echoed: string[] = []
      target().addFault(echoCredentials({method: 'PUT', path: /\/manifests\//, times: Infinity}, echoed))
      try {
        const result = join(dir, `${name}.result.json`)
        const table = await runCli(['apply', plan, '--result', result], {env})
        const json = await runCli(['apply', plan, '--format', 'json'], {env})
        const report = await runCli(['report', result, '--plan', plan], {env})
        const reportJson = await runCli(['report', result, '--plan', plan, '--format', 'json'], {env})
        expect(table.exitCode).toBe(1)
        expect(echoed.length).toBeGreaterThan(0)

        // What the run sent: the password, the Basic header's base64, or the bearer token it obtained.
        const secrets = [credential.password, base64(`${credential.username}:${credential.password}`), ...echoed.map((h) => h.replace(/^(Basic|Bearer) /i, ''))]
        const outputs = {
          'apply stdout': table.stdout,
          'apply stderr': table.stderr,
          'apply --format json': json.stdout,
          'apply --format json stderr': json.stderr,
          'result file': await readFile(result, 'utf8'),
          'report stdout': report.stdout,
          'report --format json': reportJson.stdout,
          'step summary': await readFile(summary, 'utf8'),
        }
        for (const [what, text] of Object.entries(outputs)) {
          for (const secret of secrets) expect(text.includes(secret), `${what} holds ${secret}`).toBe(false)
        }
        // The registry's refusal itself is still told, with the secret masked.
        for (const what of ['apply stdout', 'apply --format json', 'result file', 'report stdout', 'step summary'] as const) {
          expect(outputs[what], what).toContain('refused the request with Authorization: ')
          expect(outputs[what], what).toContain('REDACTED')
        }
        // The result file is still one report can read.
        expect(report.stdout).toContain('0 copied')
      } finally {
        target().clearFaults()
      }
    })
  }
})
