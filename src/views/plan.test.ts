import {describe, expect, test} from 'bun:test'
import type {Plan, PlanEntry} from '../plan/model.ts'
import {planOf} from '../../test/support/plans.ts'
import {renderPlan, renderSignatureFailures, summaryLine} from './plan.ts'

const D = (c: string) => `sha256:${c.repeat(64)}`
const PREFIX = 'eu.gcr.io/kyma-project/external/'

function entry(source: string, target: string, action: PlanEntry['action'], digest: string, platforms: string[]): PlanEntry {
  return {
    source,
    sourceRepository: `docker.io/${source.split(/[:@]/)[0]}`,
    sourceDigest: digest,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    platforms,
    selection: {kind: 'whole'},
    target: `${PREFIX}${target}`,
    action,
    targetDigest: action === 'to-copy' ? null : action === 'already-present' ? digest : D('f'),
    signature: {
      policy: {verify: 'if-present', keys: [], identities: [], trustedRoot: {kind: 'public-good'}, copy: true, sign: null, attestations: []},
      status: 'unsigned',
      signers: [],
      found: 0,
      reasons: [],
      attestations: [],
    },
  }
}

const PLAN = planOf(PREFIX, [
  entry('bitnami/keycloak-gatekeeper:9.0.3', 'bitnami/keycloak-gatekeeper:9.0.3', 'to-copy', D('a'), ['linux/amd64', 'linux/arm64']),
  entry(`busybox@${D('b')}`, 'library/busybox:1.32.0-v1', 'already-present', D('b'), ['linux/amd64', 'linux/arm/v7', 'linux/arm64/v8']),
  entry('bitnami/postgres-exporter:0.11.1-debian-11-r69', 'bitnami/postgres-exporter:0.11.1-debian-11-r69', 'conflicting-ID', D('c'), ['linux/amd64']),
  entry('cypress/included:9.5.0', 'cypress/included:9.5.0', 'to-copy', D('d'), []),
])

describe('renderPlan table', () => {
  const text = renderPlan(PLAN, 'table')

  test('shows every source, target, action and short digest', () => {
    for (const e of PLAN.entries) {
      expect(text, e.source).toContain(e.source)
      expect(text, e.target).toContain(e.target)
      expect(text, e.sourceDigest).toContain(e.sourceDigest.slice(0, 'sha256:'.length + 12))
    }
    for (const action of ['to-copy', 'already-present', 'conflicting-ID']) expect(text).toContain(action)
  })

  test("a platform subset's digest says it is a new index, and from which source index", () => {
    const subset = {
      ...PLAN.entries[0]!,
      selection: {kind: 'platforms' as const, platforms: ['linux/amd64', 'linux/arm64'], indexDigest: D('e'), digest: D('a')},
    }
    expect(renderPlan(planOf(PREFIX, [subset]), 'markdown')).toContain(
      `${D('a').slice(0, 'sha256:'.length + 12)} (new index, from ${D('e').slice(0, 'sha256:'.length + 12)})`,
    )
  })

  test('one row per entry, in order', () => {
    const rows = text.split('\n').filter((line) => line.startsWith('│') && PLAN.entries.some((e) => line.includes(e.target)))
    expect(rows.map((row) => PLAN.entries.findIndex((e) => row.includes(e.target)))).toStrictEqual([0, 1, 2, 3])
  })

  test('a conflict is told below the table with both digests and what to do', () => {
    expect(text).toContain('Conflicts (a tag is never overwritten: mirror the image under another tag, or remove the target tag by hand, then plan again):\n')
    expect(text).toContain(
      `\n  ${PREFIX}bitnami/postgres-exporter:0.11.1-debian-11-r69 holds sha256:${'f'.repeat(12)}, the source bitnami/postgres-exporter:0.11.1-debian-11-r69 is sha256:${'c'.repeat(12)}\n`,
    )
  })

  test('ends with the summary line', () => {
    expect(text.endsWith('\nPlan: 2 to copy, 1 already present, 1 conflicting.\n')).toBe(true)
  })

  test('has no colour codes', () => {
    expect(text).not.toContain('\u001b[')
  })

  test('an empty plan says so, with the summary', () => {
    expect(renderPlan(planOf(PREFIX, []), 'table')).toBe('No images in the definition.\nPlan: 0 to copy, 0 already present, 0 conflicting.\n')
  })
})

describe('the size to copy', () => {
  const [index, present, conflicting, other] = PLAN.entries
  const failed = {...other!, target: `${PREFIX}failed:1`, signature: {...other!.signature, status: 'failed' as const}}

  test('sums the bytes the to-copy entries record and counts those of unknown size, in every view', () => {
    // Already there, conflicting or failing its signature check: none of them is copied, so none weighs.
    const sized = planOf(PREFIX, [index!, {...present!, bytes: 9e9}, {...conflicting!, bytes: 9e9}, {...other!, bytes: 1_500_000}, {...failed, bytes: 9e9}])
    const line = 'Size to copy: 1.5 MB, and 1 entry of unknown size.'
    expect(renderPlan(sized, 'table')).toContain(`\nPlan: 3 to copy, 1 already present, 1 conflicting. 1 signature failure.\n${line}\n`)
    expect(renderPlan(sized, 'markdown')).toContain(`1 signature failure.\n\n${line}\n`)
    expect(
      renderPlan(
        planOf(PREFIX, [
          {...index!, bytes: 2_000},
          {...other!, bytes: 3_000},
        ]),
        'table',
      ),
    ).toContain('\nSize to copy: 5.0 kB.\n')
  })

  test('a plan that records no bytes reads as before', () => {
    expect(renderPlan(PLAN, 'table')).not.toContain('Size to copy')
  })
})

describe('summaryLine', () => {
  const cases: {summary: Plan['summary']; want: string}[] = [
    {summary: {toCopy: 0, alreadyPresent: 0, conflicting: 0, signatureFailures: 0}, want: 'Plan: 0 to copy, 0 already present, 0 conflicting.'},
    {summary: {toCopy: 12, alreadyPresent: 3, conflicting: 1, signatureFailures: 0}, want: 'Plan: 12 to copy, 3 already present, 1 conflicting.'},
  ]
  for (const {summary, want} of cases) {
    test(want, () => {
      expect(summaryLine({...PLAN, summary})).toBe(want)
    })
  }
})

describe('renderPlan markdown', () => {
  const text = renderPlan(PLAN, 'markdown')
  const lines = text.split('\n')
  const tableLines = lines.filter((l) => l.startsWith('|'))
  /** Cells of a row, splitting on unescaped pipes. */
  const cells = (row: string) =>
    row
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim())

  test('is the summary, the target prefix, then a header, a separator and one row per entry, each with six cells', () => {
    expect(tableLines).toHaveLength(2 + PLAN.entries.length)
    expect(lines[2]).toBe(`Into \`${PREFIX}\` (targets are shown relative to it).`)
    expect(lines.slice(4, 4 + tableLines.length)).toStrictEqual(tableLines)
    expect(cells(tableLines[0]!)).toStrictEqual(['Source', 'Target', 'Action', 'Digest', 'Platforms', 'Signature'])
    expect(cells(tableLines[1]!).every((c) => /^:?-{3,}:?$/.test(c))).toBe(true)
    for (const row of tableLines) {
      expect(row.endsWith('|'), row).toBe(true)
      expect(cells(row), row).toHaveLength(6)
    }
  })

  test('rows hold the entries in order, targets relative to the prefix, the conflict in bold', () => {
    const rows = tableLines.slice(2).map(cells)
    expect(rows).toStrictEqual([
      [
        `\`bitnami/keycloak-gatekeeper:9.0.3\``,
        `\`bitnami/keycloak-gatekeeper:9.0.3\``,
        'to-copy',
        `\`sha256:${'a'.repeat(12)}\``,
        '`linux/amd64, linux/arm64`',
        '`unsigned`',
      ],
      [
        `\`busybox@${D('b')}\``,
        `\`library/busybox:1.32.0-v1\``,
        'already-present',
        `\`sha256:${'b'.repeat(12)}\``,
        '`linux/amd64, linux/arm/v7, linux/arm64/v8`',
        '`unsigned`',
      ],
      [
        `\`bitnami/postgres-exporter:0.11.1-debian-11-r69\``,
        `\`bitnami/postgres-exporter:0.11.1-debian-11-r69\``,
        '**conflicting-ID**',
        `\`sha256:${'c'.repeat(12)}\``,
        '`linux/amd64`',
        '`unsigned`',
      ],
      [`\`cypress/included:9.5.0\``, `\`cypress/included:9.5.0\``, 'to-copy', `\`sha256:${'d'.repeat(12)}\``, '`-`', '`unsigned`'],
    ])
  })

  test('the summary comes first, a blank line, then the table, open (a small plan needs no collapsing)', () => {
    expect(text.startsWith(`Plan: 2 to copy, 1 already present, 1 conflicting.\n\nInto \`${PREFIX}\` (targets are shown relative to it).\n\n| Source |`)).toBe(
      true,
    )
    expect(text).not.toContain('<details>')
  })

  test('a pipe in a value is escaped and does not add a cell', () => {
    const odd = planOf(PREFIX, [entry('busybox:1', 'library/busybox:1', 'to-copy', D('e'), ['linux/amd64|weird'])])
    const row = renderPlan(odd, 'markdown').split('\n')[6]!
    expect(row).toContain('linux/amd64\\|weird')
    expect(cells(row)).toHaveLength(6)
  })

  test('an empty plan is the summary and a header-only table', () => {
    expect(renderPlan(planOf(PREFIX, []), 'markdown')).toBe(
      `Plan: 0 to copy, 0 already present, 0 conflicting.\n\nInto \`${PREFIX}\` (targets are shown relative to it).\n\n| Source | Target | Action | Digest | Platforms | Signature |\n| --- | --- | --- | --- | --- | --- |\n`,
    )
  })
})

describe('renderPlan json', () => {
  test('round-trips to the plan', () => {
    const text = renderPlan(PLAN, 'json')
    expect(JSON.parse(text)).toStrictEqual(PLAN)
    expect(text.endsWith('\n')).toBe(true)
  })
})

describe('attestations in the signature cell', () => {
  const SLSA = 'https://slsa.dev/provenance/v1'
  const KEY = {kind: 'key' as const, fingerprint: D('9')}
  function attested(status: PlanEntry['signature']['status'], attestations: PlanEntry['signature']['attestations']): Plan {
    const base = entry('busybox:1', 'library/busybox:1', 'to-copy', D('e'), ['linux/amd64'])
    return planOf(PREFIX, [
      {...base, signature: {...base.signature, status, signers: [KEY], found: 1, reasons: attestations.flatMap((a) => a.reasons), attestations}},
    ])
  }

  test('all verified: the signer and a count', () => {
    const plan = attested('verified', [{predicateType: SLSA, status: 'verified', signers: [KEY], reasons: []}])
    expect(renderPlan(plan, 'table')).toContain(`verified: key sha256:${'9'.repeat(12)}; attestations 1/1`)
  })

  test('unmet ones are named, short, with their status; markdown keeps one cell and bolds the failure', () => {
    const plan = attested('failed', [
      {predicateType: SLSA, status: 'missing', signers: [], reasons: ['x']},
      {predicateType: 'https://spdx.dev/Document|v2', status: 'failed', signers: [], reasons: ['y']},
    ])
    expect(renderPlan(plan, 'table')).toContain('failed; attestations 0/2 (slsa.dev/provenance/v1 missing, spdx.dev/Document|v2 failed)')
    const row = renderPlan(plan, 'markdown').split('\n')[6]!
    expect(row).toContain('| **`failed; attestations 0/2 (slsa.dev/provenance/v1 missing, spdx.dev/Document\\|v2 failed)`** |')
  })

  test('control characters in recorded text never reach the terminal', () => {
    const plan = attested('failed', [
      {predicateType: 'https://x/\u001b[2J', status: 'missing', signers: [], reasons: ['required attestation https://x/\u001b[2J was not found']},
    ])
    expect(renderPlan(plan, 'table')).toContain('x/\\x1b[2J missing')
    expect(renderPlan(plan, 'table')).not.toContain('\u001b')
    expect(renderSignatureFailures(plan)).toContain('required attestation https://x/\\x1b[2J was not found')
    expect(renderSignatureFailures(plan)).not.toContain('\u001b')
  })
})

describe('pull lines', () => {
  const pulls: Plan['pulls'] = [
    {registry: 'docker.io', needed: 12, limit: 100, remaining: 88},
    {registry: 'ghcr.io', needed: 1, limit: null, remaining: null},
    {registry: 'quay.io', needed: 0, limit: null, remaining: null},
  ]
  test('the table says per source registry how many pulls apply needs and how many are left', () => {
    const text = renderPlan({...PLAN, pulls}, 'table')
    expect(text.endsWith('conflicting.\ndocker.io: 12 pulls needed, 88 left.\nghcr.io: 1 pull needed.\n')).toBe(true)
  })
  test('Markdown keeps each on its own paragraph', () => {
    expect(renderPlan({...PLAN, pulls}, 'markdown')).toContain('conflicting.\n\ndocker.io: 12 pulls needed, 88 left.\n\nghcr.io: 1 pull needed.\n')
  })
})
