/**
 * What ties a plan file to what was reviewed, checked by `apply` before it connects anywhere. The plan file
 * travels through a pull request, so apply trusts it only as far as it can check it:
 * - it must hold together (plan/consistency.ts): the summary and `source` a reviewer reads are what apply does;
 * - the target-only credentials (`--access-token`, `--target-repo-auth-key`) go only to the registry the
 *   operator names at apply time (`--target-repo-prefix`), never to wherever the file says;
 * - with `--definition FILE`, it must follow from the reviewed definition (plan/definition-match.ts).
 */
import {realPathOf} from '../files/real-path.ts'
import {SyncerError} from '../ref/errors.ts'
import type {ConnectOptions} from '../registry/connect.ts'
import {formatTargetPrefix, parseTargetPrefix, type TargetPrefix} from '../ref/target.ts'
import {planInconsistencies, quote} from '../plan/consistency.ts'
import {matchDefinition} from '../plan/definition-match.ts'
import type {Plan} from '../plan/model.ts'

/** What the operator vouches for at apply time. */
export interface Binding {
  /** `--target-repo-prefix`: where target-only credentials may go; every target must lie under it. */
  targetRepoPrefix?: string
  /** `--definition`: the reviewed definition file the plan must follow from. */
  definitionPath?: string
}

export type BindingCode =
  /** Target-only credentials were given without naming the target they are for. */
  | 'TARGET_NOT_NAMED'
  /** The plan contradicts itself. */
  | 'INCONSISTENT'
  /** The plan writes outside the operator's target prefix. */
  | 'OUTSIDE_TARGET'
  /** The definition file is not the one the plan was made from. */
  | 'DEFINITION_CHANGED'
  /** The definition file is, but the plan's entries do not follow from it. */
  | 'NOT_FROM_DEFINITION'

/** Apply refuses the plan: nothing was written and no target-only credential was sent. */
export class PlanBindingError extends SyncerError {
  override readonly name = 'PlanBindingError'
  readonly category = 'input' as const
  constructor(
    readonly code: BindingCode,
    readonly problems: readonly string[],
    message: string,
  ) {
    super(message)
  }
}

const NOTHING_WRITTEN = 'nothing was written'

/** Throws PlanBindingError (or DefinitionError for an unusable definition file) unless `plan` may be applied. */
export async function checkPlanBinding(
  plan: Plan,
  planPath: string,
  binding: Binding,
  credentials: Pick<ConnectOptions, 'accessToken' | 'authKeyFile'>,
): Promise<void> {
  const given = credentials.accessToken
    ? '--access-token (SYNCER_ACCESS_TOKEN)'
    : credentials.authKeyFile
      ? '--target-repo-auth-key (SYNCER_TARGET_REPO_AUTH_KEY)'
      : null
  if (given !== null && binding.targetRepoPrefix === undefined) {
    const message = `${given} is only sent to the target named at apply time: pass --target-repo-prefix (or SYNCER_TARGET_REPO_PREFIX) so that a plan file cannot send it elsewhere; ${NOTHING_WRITTEN}`
    throw new PlanBindingError('TARGET_NOT_NAMED', [], message)
  }
  const inconsistencies = planInconsistencies(plan)
  if (inconsistencies.length) {
    throw new PlanBindingError(
      'INCONSISTENT',
      inconsistencies,
      refusal(`${planPath} contradicts itself`, inconsistencies, `${NOTHING_WRITTEN} (it was changed after plan wrote it: plan again instead of editing it)`),
    )
  }
  if (binding.targetRepoPrefix !== undefined) {
    const named = parseTargetPrefix(binding.targetRepoPrefix)
    const prefix = formatTargetPrefix(named)
    if (!(await writesUnder(plan.targetRepoPrefix, named))) {
      const message = `${planPath} writes under ${quote(plan.targetRepoPrefix)}, which is not under --target-repo-prefix ${quote(prefix)}; ${NOTHING_WRITTEN} and no credential was sent`
      throw new PlanBindingError('OUTSIDE_TARGET', [], message)
    }
  }
  if (binding.definitionPath !== undefined) await checkDefinition(plan, planPath, binding.definitionPath, binding.targetRepoPrefix)
}

/**
 * Whether a plan's prefix lies under the one named at apply time. Both end in `/`, so this compares whole path
 * components; consistency put every target under the plan's prefix. Layout directories compare where they are
 * on disk, symlinks resolved: `oci:./mirror/evil/` is not under `oci:./mirror/` when `evil` leads elsewhere.
 */
async function writesUnder(planPrefix: string, named: TargetPrefix): Promise<boolean> {
  if (named.layoutDir === undefined) return planPrefix.startsWith(formatTargetPrefix(named))
  const planned = parseTargetPrefix(planPrefix).layoutDir
  if (planned === undefined) return false
  const [plannedDir, namedDir] = await Promise.all([realPathOf(planned), realPathOf(named.layoutDir)])
  return plannedDir !== null && namedDir !== null && `${plannedDir}/`.startsWith(namedDir === '/' ? '/' : `${namedDir}/`)
}

async function checkDefinition(plan: Plan, planPath: string, definitionPath: string, targetRepoPrefix: string | undefined): Promise<void> {
  const match = await matchDefinition(plan, definitionPath, targetRepoPrefix)
  if (match.kind === 'changed') {
    const message = `${planPath} was made from a definition with ${match.planned}, but ${definitionPath} has ${match.actual} (plan again from it); ${NOTHING_WRITTEN}`
    throw new PlanBindingError('DEFINITION_CHANGED', [], message)
  }
  if (match.kind === 'differs') {
    throw new PlanBindingError(
      'NOT_FROM_DEFINITION',
      match.problems,
      refusal(`${planPath} does not follow from ${definitionPath}`, match.problems, `${NOTHING_WRITTEN} (plan again from it)`),
    )
  }
}

/** One sentence for one problem; the sentence with a list under it for several. */
function refusal(subject: string, problems: readonly string[], outcome: string): string {
  if (problems.length === 1) return `${subject}: ${problems[0]}; ${outcome}`
  return `${subject}; ${outcome}:\n${problems.map((p) => `  - ${p}`).join('\n')}`
}
