/**
 * Tag rules and renames through the CLI against real docker-registry processes: semver (with Bitnami's
 * suffixes), regex, exclude and latest over a repository of 40 tags, renames and their collisions, an empty
 * match, apply from the plan alone and with `--definition`, and a second plan finding everything present.
 *
 * distribution 2.8 (docker-registry 2.8.2) answers `tags/list` in one page whatever `?n=` asks, so the 40 tags
 * come in one page here; paging by `Link` is counted against the in-process registry (tag-rules-requests.test.ts).
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {join} from 'node:path'
import {readPlan} from '../support/plan-file.ts'
import {makeImage, pushImage, putManifest} from '../support/images.ts'
import {runCli, type Scenario, startScenario} from './scenario.ts'

setDefaultTimeout(60_000)

const AMD64 = {os: 'linux', architecture: 'amd64'}
/** 7.0.0-debian-11-r0 … 7.4.5-debian-12-r37 (Bitnami's naming), and the moving tags next to them. */
const REDIS = Array.from({length: 38}, (_, i) => `7.${Math.floor(i / 8)}.${i % 8}-debian-${i % 2 ? 12 : 11}-r${i}`)
const EXPORTER = ['v1.7.0', 'v1.8.0', 'v1.8.2', 'v1.9.1', 'v1.10.0', 'v2.0.0-rc.1', 'latest']

let s: Scenario
beforeAll(async () => {
  s = await startScenario()
  const image = makeImage({flavor: 'docker', platform: AMD64})
  await pushImage(s.source.url, 'bitnami/redis', image, 'latest')
  for (const tag of [...REDIS, '7']) await putManifest(s.source.url, 'bitnami/redis', tag, image.bytes, image.mediaType)
  for (const tag of EXPORTER) await pushImage(s.source.url, 'prom/node-exporter', makeImage({flavor: 'oci', platform: AMD64}), tag)
})
afterAll(async () => {
  await s?.stop()
})

function plan(def: string, out: string, ...extra: string[]) {
  return runCli(['plan', '-i', def, '-o', out, '--mirror', s.mirrorFlag, ...extra])
}

describe('tag rules and renames against real registries', () => {
  test('semver/regex/exclude/latest/all expand to pinned entries; apply copies them; a second plan is all present', async () => {
    const def = await s.definition(
      'rules.yaml',
      [
        '- source: bitnami/redis', //                                                                   3
        '  tags: {semver: ">=7.2 <8", exclude: ["*-debian-11-*"], latest: 3}',
        '- source: prom/node-exporter', //                                                              5
        "  tags: {regex: 'v1\\.(8|9|10)\\.\\d+'}",
        '  target: tools/node-exporter',
        '- source: prom/node-exporter', //                                                              8
        '  tags: {all: true, exclude: ["v1.*", "latest"]}',
        '  target: tools/node-exporter-next',
        '- source: "single:1.0"', //                                                                    11
        '  target: tools/single',
        '- source: "bitnami/redis:latest"', //                                                          13
      ].join('\n'),
    )
    const out = join(s.dir, 'rules.plan.json')
    const run = await plan(def, out, '--format', 'markdown')
    expect(run.exitCode).toBe(0)
    const p = await readPlan(out)
    expect(p.rules).toEqual([
      {
        source: 'bitnami/redis',
        line: 3,
        tags: {semver: '>=7.2 <8', exclude: ['*-debian-11-*'], latest: 3},
        listed: 40,
        matched: ['7.4.5-debian-12-r37', '7.4.3-debian-12-r35', '7.4.1-debian-12-r33'],
      },
      {source: 'prom/node-exporter', line: 5, tags: {regex: 'v1\\.(8|9|10)\\.\\d+'}, listed: 7, matched: ['v1.10.0', 'v1.9.1', 'v1.8.2', 'v1.8.0']},
      {source: 'prom/node-exporter', line: 8, tags: {all: true, exclude: ['v1.*', 'latest']}, listed: 7, matched: ['v2.0.0-rc.1']},
    ])
    expect(p.entries.map((e) => [e.source, e.target.slice(s.prefix.length), e.rule ?? null, e.targetPath ?? null])).toEqual([
      ['bitnami/redis:7.4.5-debian-12-r37', 'bitnami/redis:7.4.5-debian-12-r37', 0, null],
      ['bitnami/redis:7.4.3-debian-12-r35', 'bitnami/redis:7.4.3-debian-12-r35', 0, null],
      ['bitnami/redis:7.4.1-debian-12-r33', 'bitnami/redis:7.4.1-debian-12-r33', 0, null],
      ['prom/node-exporter:v1.10.0', 'tools/node-exporter:v1.10.0', 1, 'tools/node-exporter'],
      ['prom/node-exporter:v1.9.1', 'tools/node-exporter:v1.9.1', 1, 'tools/node-exporter'],
      ['prom/node-exporter:v1.8.2', 'tools/node-exporter:v1.8.2', 1, 'tools/node-exporter'],
      ['prom/node-exporter:v1.8.0', 'tools/node-exporter:v1.8.0', 1, 'tools/node-exporter'],
      ['prom/node-exporter:v2.0.0-rc.1', 'tools/node-exporter-next:v2.0.0-rc.1', 2, 'tools/node-exporter-next'],
      ['single:1.0', 'tools/single:1.0', null, 'tools/single'],
      ['bitnami/redis:latest', 'bitnami/redis:latest', null, null],
    ])
    // Each expanded entry is pinned and classified like any tag entry.
    expect(p.entries.every((e) => e.action === 'to-copy' && /^sha256:/.test(e.sourceDigest))).toBe(true)
    expect(run.stdout).toContain('**`bitnami/redis`** tags `{"semver":">=7.2 <8","exclude":["*-debian-11-*"],"latest":3}` (line 3): 3 of 40 listed tags')

    const applied = await runCli(['apply', out, '--definition', def, '--mirror', s.mirrorFlag, '--format', 'json'])
    expect(applied.exitCode).toBe(0)
    const again = await plan(def, join(s.dir, 'rules-again.plan.json'))
    expect(again.exitCode).toBe(0)
    const second = await readPlan(join(s.dir, 'rules-again.plan.json'))
    expect(second.entries.map((e) => e.action)).toEqual(p.entries.map(() => 'already-present'))
    expect(second.entries.map((e) => e.target)).toEqual(p.entries.map((e) => e.target))
  })

  test("a rule or a rename writing another entry's target tag is a definition error naming both lines", async () => {
    const def = await s.definition(
      'collide.yaml',
      [
        '- source: "single:1.0"', //                                                                    3
        '  target: bitnami/redis',
        '- source: "acme/arm:1.0"', //                                                                  5
        '  target: bitnami/redis',
        '- source: "bitnami/redis:7.0.0-debian-11-r0"', //                                              7
        '- source: bitnami/redis', //                                                                   8
        '  tags: {semver: "7.0.0"}',
      ].join('\n'),
    )
    const run = await plan(def, join(s.dir, 'collide.plan.json'))
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain(
      `${def}:6:11: ${s.prefix}bitnami/redis:1.0 is also the target of the entry on line 3: two entries must not write the same target tag`,
    )
    // Renames collide at load; a rule's collisions are known once its tags are listed, and reported the same way.
    const ruled = await s.definition(
      'collide-rule.yaml',
      ['- source: "bitnami/redis:7.0.0-debian-11-r0"', '- source: bitnami/redis', '  tags: {semver: "7.0.0"}'].join('\n'),
    )
    const second = await plan(ruled, join(s.dir, 'collide-rule.plan.json'))
    expect(second.exitCode).toBe(1)
    expect(second.stderr).toContain(
      `${ruled}:4:11: ${s.prefix}bitnami/redis:7.0.0-debian-11-r0 is selected by the tags rule on line 4 and also written by the entry on line 3: two entries must not write the same target tag`,
    )
  })

  test('an empty match is a warning, a runaway rule an error', async () => {
    const empty = await s.definition('empty.yaml', ['- source: bitnami/redis', '  tags: {semver: ">=9"}'].join('\n'))
    const out = join(s.dir, 'empty.plan.json')
    const run = await plan(empty, out)
    expect(run.exitCode).toBe(0)
    expect(run.stderr).toContain(`Warning: ${empty}:3: tags of bitnami/redis matched none of the 40 tags listed: nothing is planned for it`)
    expect((await readPlan(out)).entries).toEqual([])

    const runaway = await s.definition('runaway.yaml', ['- source: bitnami/redis', '  tags: {all: true, maxTags: 10}'].join('\n'))
    const refused = await plan(runaway, join(s.dir, 'runaway.plan.json'))
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain(
      `${runaway}:3:11: tags selects 40 tags of docker.io/bitnami/redis, more than maxTags (10): narrow the rule, or raise maxTags if you mean it`,
    )
  })
})
