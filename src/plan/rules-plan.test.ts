/**
 * Tag rules and renames from the definition to the plan and back: expansion (pure), what the plan records,
 * the consistency check apply makes on the plan alone, the definition match of `apply --definition`, and the
 * Markdown view.
 */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DefinitionError} from '../definition/errors.ts'
import {type Definition, loadDefinition} from '../definition/load.ts'
import {MediaType} from '../oci/media-types.ts'
import type {Digest} from '../ref/digest.ts'
import {renderPlan} from '../views/plan.ts'
import {buildPlan} from './build.ts'
import {planInconsistencies} from './consistency.ts'
import {matchDefinition} from './definition-match.ts'
import {expandRules} from './expand.ts'
import type {Plan} from './model.ts'
import type {Observation} from './observation.ts'
import {recordPolicy} from './policy-record.ts'

const PREFIX = 'registry.example/mirror/'
const LISTED = ['7.0.15', '7.2.4-debian-11-r0', '7.2.4-debian-12-r0', '7.2.5-debian-12-r1', '7.4.0-debian-12-r0', '8.0.1', 'latest']
const DEFINITION = [
  `targetRepoPrefix: "${PREFIX}"`,
  'images:',
  '- source: "busybox:1.36"', //                                                              3
  '  target: tools/busybox',
  '- source: bitnami/redis', //                                                               5
  '  tags: {semver: ">=7.2 <8", exclude: ["*-debian-11-*"], latest: 2}',
  '  target: tools/redis',
  '- source: quay.io/acme/app', //                                                            8
  '  tags: {regex: "v9.*"}',
  '',
].join('\n')

function dg(name: string): Digest {
  return `sha256:${new Bun.CryptoHasher('sha256').update(name).digest('hex')}`
}

let dir: string
let path: string
let definition: Definition
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-rules-'))
  path = join(dir, 'images.yaml')
  await writeFile(path, DEFINITION)
  definition = await loadDefinition(path)
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function planOf(listed: string[][] = [LISTED, ['v1.0']]): Promise<Plan> {
  const {entries, rules} = expandRules(definition, listed)
  const policy = await recordPolicy(entries[0]!.signatures)
  const observations: Observation[] = entries.map((e) => ({
    kind: 'observed',
    source: {digest: dg(e.source), mediaType: MediaType.OciManifest, content: {kind: 'image', platform: {os: 'linux', architecture: 'amd64'}, bytes: 1000}},
    targetDigest: null,
    signatures: {policy, verdicts: [], attestations: []},
  }))
  const result = buildPlan(entries, observations, {
    tool: {name: 'image-syncer', version: 'test'},
    createdAt: '2026-01-01T00:00:00.000Z',
    definition: {path, sha256: definition.sha256},
    targetRepoPrefix: PREFIX,
    rules,
  })
  if (result.kind !== 'planned') throw new Error(JSON.stringify(result.failures))
  return result.plan
}

describe('expandRules', () => {
  test("one entry per selected tag, in file order, read by tag and written under the rule's target", () => {
    const {entries, rules, warnings} = expandRules(definition, [LISTED, ['v1.0']])
    expect(entries.map((e) => [e.line, e.source, `${e.target.repository}:${e.target.tag}`, e.rule])).toEqual([
      [3, 'busybox:1.36', 'mirror/tools/busybox:1.36', undefined],
      [5, 'bitnami/redis:7.4.0-debian-12-r0', 'mirror/tools/redis:7.4.0-debian-12-r0', 0],
      [5, 'bitnami/redis:7.2.5-debian-12-r1', 'mirror/tools/redis:7.2.5-debian-12-r1', 0],
    ])
    expect(entries[1]!.pin).toEqual({kind: 'tag', tag: '7.4.0-debian-12-r0'})
    expect(rules).toEqual([
      {
        source: 'bitnami/redis',
        line: 5,
        tags: {semver: '>=7.2 <8', exclude: ['*-debian-11-*'], latest: 2},
        listed: 7,
        matched: ['7.4.0-debian-12-r0', '7.2.5-debian-12-r1'],
      },
      {source: 'quay.io/acme/app', line: 8, tags: {regex: 'v9.*'}, listed: 1, matched: []},
    ])
    expect(warnings).toEqual([`${path}:8: tags of quay.io/acme/app matched none of the 1 tags listed: nothing is planned for it`])
  })

  test("a rule selecting more than maxTags, and a rule writing another entry's target tag, are definition problems naming both lines", async () => {
    const text = [
      `targetRepoPrefix: "${PREFIX}"`,
      'images:',
      '- source: "tools/redis:8.0.1"',
      '- source: bitnami/redis',
      '  tags: {all: true, maxTags: 2}',
      '- source: bitnami/redis',
      '  tags: {semver: ">=8"}',
      '  target: tools/redis',
      '',
    ].join('\n')
    const file = join(dir, 'collide.yaml')
    await writeFile(file, text)
    const d = await loadDefinition(file)
    let thrown: unknown
    try {
      expandRules(d, [LISTED, LISTED])
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(DefinitionError)
    expect((thrown as DefinitionError).problems).toEqual([
      {
        file,
        line: 4,
        column: 11,
        message: 'tags selects 7 tags of docker.io/bitnami/redis, more than maxTags (2): narrow the rule, or raise maxTags if you mean it',
      },
      {
        file,
        line: 6,
        column: 11,
        message:
          'registry.example/mirror/tools/redis:8.0.1 is selected by the tags rule on line 6 and also written by the entry on line 3: two entries must not write the same target tag',
      },
    ])
  })
})

describe('the plan records rules and renames, and stays consistent', () => {
  test('entries point at their rule; renamed entries carry targetPath; the plan holds together', async () => {
    const plan = await planOf()
    expect(plan.entries.map((e) => [e.target, e.targetPath, e.rule])).toEqual([
      ['registry.example/mirror/tools/busybox:1.36', 'tools/busybox', undefined],
      ['registry.example/mirror/tools/redis:7.4.0-debian-12-r0', 'tools/redis', 0],
      ['registry.example/mirror/tools/redis:7.2.5-debian-12-r1', 'tools/redis', 0],
    ])
    expect(plan.rules?.map((r) => r.matched)).toEqual([['7.4.0-debian-12-r0', '7.2.5-debian-12-r1'], []])
    expect(planInconsistencies(plan)).toEqual([])
  })

  test('a plan without rules and renames has neither key (plans of the seed format are unchanged)', async () => {
    const file = join(dir, 'seed.yaml')
    await writeFile(file, `targetRepoPrefix: "${PREFIX}"\nimages:\n- source: "busybox:1.36"\n`)
    const d = await loadDefinition(file)
    const {entries, rules} = expandRules(d, [])
    const policy = await recordPolicy(entries[0]!.signatures)
    const result = buildPlan(
      entries,
      [
        {
          kind: 'observed',
          source: {digest: dg('x'), mediaType: MediaType.OciManifest, content: {kind: 'image', platform: null, bytes: 1000}},
          targetDigest: null,
          signatures: {policy, verdicts: [], attestations: []},
        },
      ],
      {tool: {name: 't', version: 't'}, createdAt: 'now', definition: {path: file, sha256: d.sha256}, targetRepoPrefix: PREFIX, rules},
    )
    if (result.kind !== 'planned') throw new Error('failed')
    expect(result.plan).not.toHaveProperty('rules')
    expect(Object.keys(result.plan.entries[0]!)).toEqual([
      'source',
      'sourceRepository',
      'sourceDigest',
      'mediaType',
      'platforms',
      'selection',
      'bytes',
      'target',
      'action',
      'targetDigest',
      'signature',
    ])
  })

  const edits: Array<[string, (plan: Plan) => void, string]> = [
    [
      'a targetPath pointing elsewhere',
      (p) => Object.assign(p.entries[0]!, {targetPath: 'other/place'}),
      'entry 1 (target "registry.example/mirror/tools/busybox:1.36"): target is not targetPath "other/place" under "registry.example/mirror/" ("registry.example/mirror/other/place:1.36")',
    ],
    [
      'a targetPath that climbs out of the prefix',
      (p) => Object.assign(p.entries[0]!, {targetPath: '../../elsewhere'}),
      'entry 1 (target "registry.example/mirror/tools/busybox:1.36"): targetPath "../../elsewhere" is not a repository path under "registry.example/mirror/": target has an invalid path component "..": use lower-case letters and digits, separated by ".", "_", "__" or "-"',
    ],
    [
      'a renamed target without its targetPath',
      (p) => void delete p.entries[0]!.targetPath,
      'entry 1 (target "registry.example/mirror/tools/busybox:1.36"): target is not where source "busybox:1.36" is mirrored under "registry.example/mirror/" ("registry.example/mirror/library/busybox:1.36")',
    ],
    [
      'a matched tag the rule does not select',
      (p) => void p.rules![0]!.matched.push('latest'),
      'rule 1 (source "bitnami/redis"): matched holds tags the rule does not select: "latest"',
    ],
    [
      'a matched tag without its entry',
      (p) => void p.rules![0]!.matched.push('7.2.4-debian-12-r0'),
      'rule 1 (source "bitnami/redis"): its entries are not exactly one per matched tag (3 matched, 2 entries)',
    ],
    [
      'a rule loosened to select more',
      (p) => Object.assign(p.rules![0]!, {tags: {all: true, maxTags: 1}}),
      'rule 1 (source "bitnami/redis"): matched holds 2 tags, more than maxTags (1)',
    ],
    ['an entry pointing at a rule that is not there', (p) => Object.assign(p.entries[0]!, {rule: 5}), 'entry 1 refers to rule 6, but the plan has 2 rule(s)'],
  ]
  test.each(edits)('an edited plan is inconsistent: %s', async (_, edit, want) => {
    const plan = await planOf()
    edit(plan)
    expect(planInconsistencies(plan)).toContain(want)
  })
})

describe('apply --definition: the plan follows from the definition, rules included', () => {
  test('a plan made from the file matches it', async () => {
    expect(await matchDefinition(await planOf(), path)).toEqual({kind: 'matches'})
  })

  test('a rule edited in the plan, a dropped rename and a dropped rule entry all differ', async () => {
    const plan = await planOf()
    plan.rules![1]!.tags = {all: true}
    const edited = await matchDefinition(plan, path)
    expect(edited).toEqual({kind: 'differs', problems: [expect.stringContaining('rule 2 is "quay.io/acme/app"') as never]})

    const renamed = await planOf()
    renamed.entries[0] = {...renamed.entries[0]!, targetPath: 'tools/other', target: 'registry.example/mirror/tools/other:1.36'}
    expect(await matchDefinition(renamed, path)).toMatchObject({kind: 'differs'})

    const dropped = await planOf()
    dropped.entries.pop()
    dropped.rules![0]!.matched.pop()
    // What matched is the registry's word, which no check can repeat without listing again: a plan narrowed by
    // hand mirrors less, never anything the rule would not select.
    expect(await matchDefinition(dropped, path)).toEqual({kind: 'matches'})
  })
})

describe('--format markdown', () => {
  test("the summary first, then each rule's entries under it, the plain entries first", async () => {
    const md = renderPlan(await planOf(), 'markdown')
    const [summary, size, pulls, prefix, ...sections] = md.split('\n\n')
    expect(summary).toStartWith('Plan: ')
    expect(size).toBe('Size to copy: 3.0 kB.')
    expect(pulls).toBe('docker.io: 3 pulls needed.')
    expect(prefix).toStartWith('Into `')
    expect(sections[0]).toContain('`busybox:1.36`')
    expect(sections[0]).not.toContain('bitnami/redis')
    expect(sections[1]).toBe('**`bitnami/redis`** tags `{"semver":">=7.2 <8","exclude":["*-debian-11-*"],"latest":2}` (line 5): 2 of 7 listed tags')
    expect(sections[2]).toContain('`bitnami/redis:7.4.0-debian-12-r0`')
    expect(sections[3]).toBe('**`quay.io/acme/app`** tags `{"regex":"v9.*"}` (line 8): 0 of 1 listed tags, nothing to plan\n')
  })
})
