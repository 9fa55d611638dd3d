/** Plans built in memory for the planner's and apply's unit tests: a definition's lines through buildPlan, or an empty plan. */
import {parseDefinition} from '../../src/definition/load.ts'
import {buildPlan} from '../../src/plan/build.ts'
import {type Plan, type PlanEntry, PLAN_FORMAT_VERSION, summarize} from '../../src/plan/model.ts'
import type {Observation} from '../../src/plan/observation.ts'
import type {PolicyRecord} from '../../src/plan/signature-record.ts'
import type {Digest} from '../../src/ref/digest.ts'

export const dg = (name: string): Digest => `sha256:${new Bun.CryptoHasher('sha256').update(name).digest('hex')}`

export const POLICY: PolicyRecord = {
  verify: 'if-present',
  keys: [],
  identities: [],
  trustedRoot: {kind: 'public-good'},
  copy: true,
  sign: null,
  attestations: [],
}

const meta = (targetRepoPrefix: string) => ({
  tool: {name: 'image-syncer', version: 'test'},
  createdAt: '2026-01-01T00:00:00.000Z',
  definition: {path: 'images.yaml', sha256: dg('definition')},
  targetRepoPrefix,
})

/** buildPlan over `images:` lines (and any top-level `header` lines) with these observations, one per entry. */
export function planLines(prefix: string, lines: string[], observations: Observation[], header: string[] = []) {
  const text = `targetRepoPrefix: "${prefix}"\n${header.map((l) => `${l}\n`).join('')}images:\n${lines.join('\n')}\n`
  const entries = parseDefinition('images.yaml', text, dg('definition')).entries.map(({signatures: {keyFiles: _, ...policy}, ...entry}) => ({
    ...entry,
    signatures: {...policy, keys: [], attestations: []},
  }))
  return buildPlan(entries, observations, meta(prefix))
}

/** As planLines, for a definition that must plan. */
export function plannedLines(prefix: string, lines: string[], observations: Observation[], header: string[] = []): Plan {
  const result = planLines(prefix, lines, observations, header)
  if (result.kind !== 'planned') throw new Error(JSON.stringify(result.failures))
  return result.plan
}

/** A plan of these entries under `targetRepoPrefix`, summed up as buildPlan would: for the views' tests. */
export function planOf(targetRepoPrefix: string, entries: PlanEntry[]): Plan {
  return {formatVersion: PLAN_FORMAT_VERSION, ...meta(targetRepoPrefix), entries, summary: summarize(entries)}
}

/** A plan with no entries under `targetRepoPrefix`: what apply's binding checks look at first. */
export function emptyPlan(targetRepoPrefix: string): Plan {
  return {
    formatVersion: 2,
    tool: {name: 'image-syncer', version: 'test'},
    createdAt: '2026-01-01T00:00:00.000Z',
    definition: {path: 'images.yaml', sha256: `sha256:${'0'.repeat(64)}`},
    targetRepoPrefix,
    entries: [],
    summary: {toCopy: 0, alreadyPresent: 0, conflicting: 0, signatureFailures: 0},
  }
}
