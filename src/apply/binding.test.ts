import {describe, expect, test} from 'bun:test'
import {rejectedWith} from '../../test/support/errors.ts'
import {emptyPlan} from '../../test/support/plans.ts'
import {BadReferenceError} from '../ref/errors.ts'
import {checkPlanBinding, PlanBindingError} from './binding.ts'

/** A plan with no entries holds together whatever its prefix, so these cases isolate the operator's rules. */

const PLAN = emptyPlan('registry.example:5000/team/mirror/')

describe('checkPlanBinding: where target-only credentials may go', () => {
  test('without target-only credentials and without a named target, apply works as before', async () => {
    await checkPlanBinding(PLAN, 'p.json', {}, {})
  })

  const refusedCredentials = [
    {name: 'an access token', credentials: {accessToken: 'secret-token'}, flag: '--access-token (SYNCER_ACCESS_TOKEN)'},
    {name: 'a key file', credentials: {authKeyFile: '/keys/key.json'}, flag: '--target-repo-auth-key (SYNCER_TARGET_REPO_AUTH_KEY)'},
  ]
  for (const {name, credentials, flag} of refusedCredentials) {
    test(`${name} without --target-repo-prefix is refused, naming the flag to pass and not the secret`, async () => {
      const error = await rejectedWith(PlanBindingError, checkPlanBinding(PLAN, 'p.json', {}, credentials))
      expect(error.code).toBe('TARGET_NOT_NAMED')
      expect(error.message).toBe(
        `${flag} is only sent to the target named at apply time: pass --target-repo-prefix (or SYNCER_TARGET_REPO_PREFIX) so that a plan file cannot send it elsewhere; nothing was written`,
      )
      expect(error.message).not.toContain('secret-token')
    })
  }

  const accepted = ['registry.example:5000/team/mirror/', 'registry.example:5000/team/mirror', 'REGISTRY.example:5000/team', 'registry.example:5000']
  for (const prefix of accepted) {
    test(`a plan under the named target ${prefix} is accepted`, async () => {
      await checkPlanBinding(PLAN, 'p.json', {targetRepoPrefix: prefix}, {accessToken: 'secret-token'})
    })
  }

  const refused = [
    'registry.example:5001/team/mirror/',
    'registry.example/team/mirror/',
    'registry.example:5000/team/mirror/sub/',
    'registry.example:5000/te',
    'registry.example:5000/other/',
  ]
  for (const prefix of refused) {
    test(`a plan is refused when the named target is ${prefix}`, async () => {
      const error = await rejectedWith(PlanBindingError, checkPlanBinding(PLAN, 'p.json', {targetRepoPrefix: prefix}, {accessToken: 'secret-token'}))
      expect(error.code).toBe('OUTSIDE_TARGET')
      expect(error.message).toStartWith('p.json writes under "registry.example:5000/team/mirror/", which is not under --target-repo-prefix "')
      expect(error.message).toEndWith('; nothing was written and no credential was sent')
    })
  }

  test('a named target that is not a prefix is a BadReferenceError', async () => {
    await rejectedWith(BadReferenceError, checkPlanBinding(PLAN, 'p.json', {targetRepoPrefix: 'no-host'}, {}))
  })
})

describe('checkPlanBinding: a plan that contradicts itself', () => {
  test('one problem is one sentence', async () => {
    const plan = {...PLAN, summary: {...PLAN.summary, toCopy: 3}}
    const error = await rejectedWith(PlanBindingError, checkPlanBinding(plan, 'p.json', {}, {}))
    expect(error.code).toBe('INCONSISTENT')
    expect(error.message).toBe(
      'p.json contradicts itself: the summary says 3 to copy, 0 already present, 0 conflicting, 0 signature failures, but the entries hold 0 to copy, 0 already present, 0 conflicting, 0 signature failures; nothing was written (it was changed after plan wrote it: plan again instead of editing it)',
    )
  })

  test('several problems are listed under the sentence', async () => {
    const plan = {...emptyPlan('Registry.example/x'), summary: {...PLAN.summary, conflicting: 1}}
    const error = await rejectedWith(PlanBindingError, checkPlanBinding(plan, 'p.json', {}, {}))
    expect(error.problems).toHaveLength(2)
    expect(error.message.split('\n')).toEqual([
      'p.json contradicts itself; nothing was written (it was changed after plan wrote it: plan again instead of editing it):',
      '  - targetRepoPrefix "Registry.example/x" is not written the way plan writes it ("registry.example/x/")',
      '  - the summary says 0 to copy, 0 already present, 1 conflicting, 0 signature failures, but the entries hold 0 to copy, 0 already present, 0 conflicting, 0 signature failures',
    ])
  })
})
