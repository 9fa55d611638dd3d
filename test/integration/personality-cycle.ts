/**
 * The end-to-end cycle every personality test runs, through the CLI in this process: plan, apply, plan again,
 * with a docker config holding the logins the registries ask for. Returns what each step said, parsed.
 */
import {afterEach} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {ApplyResult} from '../../src/apply/model.ts'
import type {Plan} from '../../src/plan/model.ts'
import type {Pace} from '../../src/transport/retry.ts'
import type {FakeRegistry} from '../support/fake-registry/index.ts'
import {readPlan} from '../support/plan-file.ts'
import {runCli} from './scenario.ts'

const cleanups: Array<() => Promise<void>> = []

/** Call once per test file: stops what each test started. */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()))
  })
}

/** A registry stopped after the test. */
export function stopAfter<T extends {stop(): Promise<void>}>(registry: T): T {
  cleanups.push(() => registry.stop())
  return registry
}

export interface CycleInput {
  /** The definition's `images:` entries, YAML. */
  images: string
  targetPrefix: string
  /** host → [user, password] */
  logins?: Record<string, [string, string]>
  /** Extra flags for plan and apply, e.g. `--mirror docker.io=URL`. */
  flags?: string[]
  /** Extra environment, e.g. `SYNCER_CHUNK_SIZE`. */
  env?: Record<string, string>
  /** What every run waits on (test/support/pace.ts testPace()): a 429's pause is then recorded, not slept. */
  pace?: Pace
  /** Called between plan and apply: what changes at the registries meanwhile (a pull budget spent elsewhere). */
  beforeApply?: () => void
  /** Called between apply and the re-plan (the budget resets). */
  afterApply?: () => void
}

export interface Cycle {
  planned: Plan
  applyExit: number
  /** What apply logged (a rate-limit pause is said there, even with --quiet, or not: the test checks). */
  applyStderr: string
  applied: ApplyResult
  replanned: Plan
}

export async function planApplyReplan(input: CycleInput): Promise<Cycle> {
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-personality-'))
  cleanups.push(() => rm(dir, {recursive: true, force: true}))
  const auths = Object.fromEntries(
    Object.entries(input.logins ?? {}).map(([host, [user, password]]) => [host, {auth: Buffer.from(`${user}:${password}`).toString('base64')}]),
  )
  await writeFile(join(dir, 'config.json'), JSON.stringify({auths}))
  const definition = join(dir, 'images.yaml')
  await writeFile(definition, `targetRepoPrefix: "${input.targetPrefix}"\nimages:\n${input.images}\n`)
  const planPath = join(dir, 'images.plan.json')
  const env = {DOCKER_CONFIG: dir, ...input.env}
  const flags = input.flags ?? []
  const options = {env, ...(input.pace ? {pace: input.pace} : {})}
  const plan = await runCli(['plan', '-i', definition, '-o', planPath, ...flags], options)
  if (plan.exitCode !== 0 && plan.exitCode !== 2) throw new Error(`plan failed: ${plan.stderr}`)
  const planned = await readPlan(planPath)
  input.beforeApply?.()
  const apply = await runCli(['apply', planPath, '--quiet', '--format', 'json', ...flags], options)
  if (!apply.stdout.trim()) throw new Error(`apply printed nothing: ${apply.stderr}`)
  const applied = JSON.parse(apply.stdout) as ApplyResult
  input.afterApply?.()
  const replan = await runCli(['plan', '-i', definition, '-o', planPath, ...flags], options)
  if (replan.exitCode !== 0 && replan.exitCode !== 2) throw new Error(`re-plan failed: ${replan.stderr}`)
  return {planned, applyExit: apply.exitCode, applyStderr: apply.stderr, applied, replanned: await readPlan(planPath)}
}

/** What a registry holds under `repository:reference` (a tag or digest), or null. */
export function storedDigest(registry: FakeRegistry, repository: string, reference: string): string | null {
  return registry.storage.getManifest(repository, reference)?.digest ?? null
}
