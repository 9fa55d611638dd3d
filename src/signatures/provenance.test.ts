/** The provenance statement's CI part: GitHub Actions' workflow identity and run URL, and nothing outside CI. */
import {describe, expect, test} from 'bun:test'
import type {Digest} from '../ref/digest.ts'
import {ciRunFromEnv, MIRROR_BUILD_TYPE, provenanceSource, provenanceStatement} from './provenance.ts'

const D = `sha256:${'a'.repeat(64)}` as Digest
const ACTIONS = {
  GITHUB_ACTIONS: 'true',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/mirror',
  GITHUB_WORKFLOW_REF: 'acme/mirror/.github/workflows/apply.yml@refs/heads/main',
  GITHUB_RUN_ID: '42',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_SHA: 'abc123',
  GITHUB_EVENT_NAME: 'push',
}

const facts = (env: Record<string, string>) => ({
  target: {repository: 'registry.internal/external/nginx', reference: 'registry.internal/external/nginx:1.27.3', digest: D},
  source: {reference: 'nginx:1.27.3', repository: 'docker.io/library/nginx', digest: D},
  selection: {kind: 'whole' as const},
  definition: {path: 'external-images.yaml', sha256: D},
  plan: {sha256: D},
  verification: {
    status: 'unsigned' as const,
    signers: [],
    policy: {verify: 'if-present', keys: [], identities: [], trustedRoot: {kind: 'public-good' as const}, attestations: []},
  },
  tool: {version: '1.2.3'},
  run: ciRunFromEnv(env),
  startedOn: '2026-01-01T00:00:00.000Z',
  finishedOn: '2026-01-01T00:00:01.000Z',
})

describe('provenance statement', () => {
  test('in GitHub Actions the builder is the workflow and the invocation the run URL', () => {
    const statement = provenanceStatement(facts(ACTIONS)) as {predicate: {runDetails: unknown; buildDefinition: {internalParameters: unknown}}}
    expect(statement.predicate.runDetails).toEqual({
      builder: {id: 'https://github.com/acme/mirror/.github/workflows/apply.yml@refs/heads/main', version: {'image-syncer': '1.2.3'}},
      metadata: {
        invocationId: 'https://github.com/acme/mirror/actions/runs/42/attempts/2',
        startedOn: '2026-01-01T00:00:00.000Z',
        finishedOn: '2026-01-01T00:00:01.000Z',
      },
    })
    expect(statement.predicate.buildDefinition.internalParameters).toEqual({
      github: {repository: 'https://github.com/acme/mirror', commit: 'abc123', event: 'push'},
    })
  })

  test('outside CI (or without the run variables) nothing about a run is claimed', () => {
    expect(ciRunFromEnv({})).toBeNull()
    expect(ciRunFromEnv({...ACTIONS, GITHUB_RUN_ID: ''})).toBeNull()
    const statement = provenanceStatement(facts({})) as {predicate: {runDetails: {builder: {id: string}; metadata: object}}}
    expect(statement.predicate.runDetails.builder.id).toBe(MIRROR_BUILD_TYPE)
    expect(statement.predicate.runDetails.metadata).not.toHaveProperty('invocationId')
  })

  test('the source it names is read back from resolvedDependencies', () => {
    expect(provenanceSource(provenanceStatement(facts({})))).toEqual({repository: 'docker.io/library/nginx', digest: D})
    expect(provenanceSource({predicate: {buildDefinition: {resolvedDependencies: [{name: 'other', uri: 'x@y'}]}}})).toBeNull()
  })
})
