import {describe, expect, test} from 'bun:test'
import {RegistryError} from '../transport/errors.ts'
import {explainRefusal} from './refusals.ts'

const refusal = (method: string, status: number, code?: string, path = '/v2/team/app/blobs/uploads/') =>
  new RegistryError({method, url: `https://r.example${path}`, status, diagnostics: code ? [{code}] : []})

describe('explainRefusal', () => {
  test('a missing repository names the command that creates it where the host says which registry it is', () => {
    const err = refusal('POST', 404, 'NAME_UNKNOWN')
    expect(explainRefusal(err, {registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'team/app'})).toBe(
      'repository team/app does not exist at 123456789012.dkr.ecr.eu-west-1.amazonaws.com; image-syncer never creates repositories: create it (aws ecr create-repository --repository-name team/app --region eu-west-1) and run apply again',
    )
    expect(explainRefusal(refusal('PUT', 403, 'DENIED'), {registry: 'europe-west1-docker.pkg.dev', repository: 'proj/repo/app'})).toContain(
      'gcloud artifacts repositories create repo --repository-format=docker --location=europe-west1 --project=proj',
    )
  })

  test('reads are left alone except a rate limit; unknown refusals keep their own message', () => {
    const target = {registry: 'r.example', repository: 'team/app'}
    expect(explainRefusal(refusal('GET', 404, 'NAME_UNKNOWN'), target)).toBeNull()
    expect(explainRefusal(refusal('GET', 429, 'TOOMANYREQUESTS'), target)).toStartWith('r.example refused more requests (rate limit, toomanyrequests)')
    expect(explainRefusal(refusal('PUT', 400, 'TAG_INVALID', '/v2/team/app/manifests/1.0'), target)).toStartWith(
      'r.example refused to write tag 1.0 of team/app',
    )
    expect(explainRefusal(refusal('PUT', 412, 'DENIED', '/v2/team/app/manifests/1.0'), target)).toStartWith(
      'r.example refused to write tag 1.0 of team/app: its tags are immutable there',
    )
    expect(explainRefusal(refusal('PUT', 412, undefined, '/v2/team/app/manifests/1.0'), target)).toBeNull()
    expect(explainRefusal(refusal('PUT', 500), target)).toBeNull()
    expect(explainRefusal(new Error('other'), target)).toBeNull()
  })
})
