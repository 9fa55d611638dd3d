import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {mkdtemp, readdir, readFile, rm, truncate, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {type Plan, PLAN_FORMAT_VERSION} from './model.ts'
import {parsePlan, PlanFileError, readPlanFile, serializePlan, writePlanFile} from './planfile.ts'

const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`
const D3 = `sha256:${'3'.repeat(64)}`

const PLAN: Plan = {
  formatVersion: PLAN_FORMAT_VERSION,
  tool: {name: 'image-syncer', version: '0.1.0'},
  createdAt: '2024-05-01T12:00:00.000Z',
  definition: {path: 'external-images.yaml', sha256: D1},
  targetRepoPrefix: 'eu.gcr.io/kyma-project/external/',
  entries: [
    {
      source: 'bitnami/keycloak-gatekeeper:9.0.3',
      sourceRepository: 'docker.io/bitnami/keycloak-gatekeeper',
      sourceDigest: D2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      platforms: ['linux/amd64', 'linux/arm64'],
      selection: {kind: 'whole'},
      target: 'eu.gcr.io/kyma-project/external/bitnami/keycloak-gatekeeper:9.0.3',
      action: 'to-copy',
      targetDigest: null,
      signature: {
        policy: {
          verify: 'required',
          keys: [{fingerprint: `sha256:${'a'.repeat(64)}`, pem: '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n'}],
          identities: [],
          trustedRoot: {kind: 'public-good'},
          copy: true,
          sign: null,
          attestations: [],
        },
        status: 'verified',
        signers: [{kind: 'key', fingerprint: `sha256:${'a'.repeat(64)}`}],
        found: 1,
        reasons: [],
        attestations: [],
      },
    },
    {
      source: 'bitnami/postgres-exporter:0.11.1-debian-11-r69',
      sourceRepository: 'docker.io/bitnami/postgres-exporter',
      sourceDigest: D3,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      platforms: ['linux/amd64'],
      selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: D2},
      target: 'eu.gcr.io/kyma-project/external/bitnami/postgres-exporter:0.11.1-debian-11-r69',
      action: 'conflicting-ID',
      targetDigest: D1,
      signature: {
        policy: {
          verify: 'if-present',
          keys: [],
          identities: [{issuer: 'https://token.actions.githubusercontent.com', subject: {kind: 'regexp', pattern: '^https://github\\.com/acme/.*$'}}],
          trustedRoot: {kind: 'file', path: '/etc/trusted_root.json', sha256: D1},
          copy: false,
          sign: {kind: 'keyless', format: 'bundle'},
          attestations: [],
        },
        status: 'unsigned',
        signers: [],
        found: 0,
        reasons: [],
        attestations: [],
      },
    },
  ],
  summary: {toCopy: 1, alreadyPresent: 0, conflicting: 1, signatureFailures: 0},
}

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-planfile-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('writePlanFile / readPlanFile', () => {
  test('round-trip gives back the same plan', async () => {
    const path = join(dir, 'plan.json')
    await writePlanFile(path, PLAN)
    expect((await readPlanFile(path)).plan).toStrictEqual(PLAN)
    expect(await readFile(path, 'utf8')).toBe(serializePlan(PLAN))
  })

  test('creates missing directories and leaves no temporary file behind', async () => {
    const path = join(dir, 'nested', 'deeper', 'plan.json')
    await writePlanFile(path, PLAN)
    expect(await readdir(join(dir, 'nested', 'deeper'))).toStrictEqual(['plan.json'])
    expect((await readPlanFile(path)).plan).toStrictEqual(PLAN)
  })

  test('overwrites an earlier plan', async () => {
    const path = join(dir, 'again.json')
    await writePlanFile(path, {...PLAN, entries: [], summary: {toCopy: 0, alreadyPresent: 0, conflicting: 0, signatureFailures: 0}})
    await writePlanFile(path, PLAN)
    expect((await readPlanFile(path)).plan).toStrictEqual(PLAN)
  })

  test('serializePlan is indented JSON ending in a newline', () => {
    const text = serializePlan(PLAN)
    expect(text.endsWith('}\n')).toBe(true)
    expect(text).toContain('\n  "formatVersion": 2,')
    expect(JSON.parse(text)).toStrictEqual(PLAN)
  })
})

describe('readPlanFile refuses', () => {
  const valid = serializePlan(PLAN)
  const withEntry = (patch: Record<string, unknown>) => JSON.stringify({...PLAN, entries: [{...PLAN.entries[0], ...patch}]})
  const cases: {name: string; text: string | null; code: PlanFileError['code']; message: (path: string) => string | RegExp}[] = [
    {
      name: 'a file that is not JSON',
      text: 'formatVersion: 1\n',
      code: 'NOT_JSON',
      message: (p) => `${p} is not a plan file: it is not valid JSON (truncated or edited?)`,
    },
    {name: 'an empty file', text: '', code: 'NOT_JSON', message: (p) => `${p} is not a plan file: it is not valid JSON (it is empty)`},
    {name: 'a blank file', text: '  \n', code: 'NOT_JSON', message: (p) => `${p} is not a plan file: it is not valid JSON (it is empty)`},
    {
      name: 'truncated JSON',
      text: valid.slice(0, valid.length / 2),
      code: 'NOT_JSON',
      message: (p) => `${p} is not a plan file: it is not valid JSON (truncated or edited?)`,
    },
    {
      name: 'JSON without formatVersion',
      text: JSON.stringify({entries: []}),
      code: 'NOT_A_PLAN',
      message: (p) => `${p} is not a plan file: it has no formatVersion`,
    },
    {name: 'a JSON array', text: '[]', code: 'NOT_A_PLAN', message: (p) => `${p} is not a plan file: it has no formatVersion`},
    {name: 'JSON null', text: 'null', code: 'NOT_A_PLAN', message: (p) => `${p} is not a plan file: it has no formatVersion`},
    {
      name: 'formatVersion 1 (a plan from before attestations)',
      text: JSON.stringify({...PLAN, formatVersion: 1}),
      code: 'UNKNOWN_FORMAT_VERSION',
      message: (p) => `${p} has plan format version 1, but this image-syncer reads version 2: plan again with this version`,
    },
    {
      name: 'formatVersion 3',
      text: JSON.stringify({...PLAN, formatVersion: 3}),
      code: 'UNKNOWN_FORMAT_VERSION',
      message: (p) => `${p} has plan format version 3, but this image-syncer reads version 2: plan again with this version`,
    },
    {
      name: 'formatVersion "2" (a string)',
      text: JSON.stringify({...PLAN, formatVersion: '2'}),
      code: 'UNKNOWN_FORMAT_VERSION',
      message: (p) => `${p} has plan format version "2", but this image-syncer reads version 2: plan again with this version`,
    },
    {
      name: 'an entry with an invalid action',
      text: withEntry({action: 'overwrite'}),
      code: 'INVALID',
      message: (p) => new RegExp(`^${escapeRegExp(p)} is not a valid plan file: /entries/0/action `),
    },
    {
      name: 'an entry with a short digest',
      text: withEntry({sourceDigest: 'sha256:abc'}),
      code: 'INVALID',
      message: (p) => new RegExp(`^${escapeRegExp(p)} is not a valid plan file: /entries/0/sourceDigest `),
    },
    {
      name: 'an entry with an unknown field',
      text: withEntry({force: true}),
      code: 'INVALID',
      message: (p) => new RegExp(`^${escapeRegExp(p)} is not a valid plan file: /entries/0`),
    },
    {
      name: 'an entry with negative bytes',
      text: withEntry({bytes: -1}),
      code: 'INVALID',
      message: (p) => new RegExp(`^${escapeRegExp(p)} is not a valid plan file: /entries/0/bytes `),
    },
    {
      name: 'an entry with fractional bytes',
      text: withEntry({bytes: 1.5}),
      code: 'INVALID',
      message: (p) => new RegExp(`^${escapeRegExp(p)} is not a valid plan file: /entries/0/bytes `),
    },
    {
      name: 'an entry with bytes as a string',
      text: withEntry({bytes: '12 MB'}),
      code: 'INVALID',
      message: (p) => new RegExp(`^${escapeRegExp(p)} is not a valid plan file: /entries/0/bytes `),
    },
    {
      name: 'valid entries but a summary count that is not a number',
      text: JSON.stringify({...PLAN, summary: {...PLAN.summary, toCopy: 'many'}}),
      code: 'INVALID',
      message: (p) => new RegExp(`^${escapeRegExp(p)} is not a valid plan file: /summary/toCopy `),
    },
    {
      name: 'a plan without entries',
      text: JSON.stringify({...PLAN, entries: undefined}),
      code: 'INVALID',
      message: (p) => new RegExp(`^${escapeRegExp(p)} is not a valid plan file: `),
    },
    {name: 'a file that does not exist', text: null, code: 'UNREADABLE', message: (p) => `cannot read plan file ${p}: no such file`},
  ]
  cases.forEach(({name, text, code, message}, i) => {
    test(name, async () => {
      const path = join(dir, `refused-${i}.json`)
      if (text !== null) await writeFile(path, text)
      const error = await readPlanFile(path).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PlanFileError)
      const planError = error as PlanFileError
      expect(planError.code).toBe(code)
      expect(planError.path).toBe(path)
      const want = message(path)
      if (typeof want === 'string') expect(planError.message).toBe(want)
      else expect(planError.message).toMatch(want)
      // One sentence: a single line that names the file.
      expect(planError.message).not.toContain('\n')
      expect(planError.message).toContain(path)
    })
  })

  test('a directory', async () => {
    const error = await readPlanFile(dir).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PlanFileError)
    expect((error as PlanFileError).code).toBe('UNREADABLE')
    expect((error as PlanFileError).message).toBe(`cannot read plan file ${dir}: it is a directory, not a regular file`)
  })

  test('a device, and a file over 64 MiB, are refused without being read', async () => {
    const device = await readPlanFile('/dev/zero').catch((e: unknown) => e)
    expect(device).toBeInstanceOf(PlanFileError)
    expect((device as PlanFileError).message).toBe('cannot read plan file /dev/zero: it is a device, not a regular file')
    const path = join(dir, 'huge.plan.json')
    await writeFile(path, '')
    await truncate(path, 64 * 1024 * 1024 + 1)
    const huge = await readPlanFile(path).catch((e: unknown) => e)
    expect((huge as PlanFileError).code).toBe('UNREADABLE')
    expect((huge as PlanFileError).message).toBe(`cannot read plan file ${path}: it is ${64 * 1024 * 1024 + 1} bytes, more than the 64 MiB allowed`)
  })

  test('a format version is quoted cut, not in full', () => {
    const error = (() => {
      try {
        return parsePlan('p.json', JSON.stringify({formatVersion: 'x'.repeat(100_000)}))
      } catch (e) {
        return e
      }
    })()
    expect((error as PlanFileError).code).toBe('UNKNOWN_FORMAT_VERSION')
    expect((error as PlanFileError).message.length).toBeLessThan(300)
  })

  test('parsePlan accepts exactly what serializePlan writes', () => {
    expect(parsePlan('plan.json', valid)).toStrictEqual(PLAN)
  })

  test('bytes are optional: a plan records them where it knows them, and plans without them stay valid', () => {
    const sized = {
      ...PLAN,
      entries: [
        {...PLAN.entries[0]!, bytes: 0},
        {...PLAN.entries[1]!, bytes: 3_221_225_472},
      ],
    }
    expect(parsePlan('plan.json', serializePlan(sized))).toStrictEqual(sized)
  })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
