import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {createHash} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {formatReference} from '../ref/reference.ts'
import {DefinitionError, type Problem} from './errors.ts'
import type {PolicyDraft} from './signatures.ts'
import {type DefinitionDraft, type LoadOptions, loadDefinition, parseDefinition} from './load.ts'
import {definitionProblems} from '../../test/support/definition-problems.ts'

const FILE = 'external-images.yaml'
const SHA = 'sha256:31a54a0cf86d7354788a8265f60ae6acb4b348a67efbcf7c1007dd3cf7af05ab'
const FILE_SHA = `sha256:${'0'.repeat(64)}`
const PREFIX = 'eu.gcr.io/kyma-project/external/'

const SEED = `targetRepoPrefix: "eu.gcr.io/kyma-project/external/"
images:
- source: "bitnami/keycloak-gatekeeper:9.0.3"
- source: "busybox@${SHA}"
  tag: "1.32.0-v1"
- source: "bitnami/postgres-exporter:0.11.1-debian-11-r69"
  amd64Only: true
`

/** The policy of an entry when the file has no `signatures:` block. */
const NO_POLICY: PolicyDraft = {
  verify: 'if-present',
  keyFiles: [],
  identities: [],
  trustedRoot: {kind: 'public-good'},
  copy: true,
  sign: null,
  attestations: [],
}

function parse(text: string, options: LoadOptions = {}): DefinitionDraft {
  return parseDefinition(FILE, text, FILE_SHA, options)
}

/** Builds a file from image lines under the usual prefix, so line numbers are easy to read: images start on line 3. */
/** The problems of an invalid definition; fails the test when the text parses. */
const problemsOf = (text: string, options: LoadOptions = {}): Problem[] => definitionProblems(() => parse(text, options), text)

/** Builds a file from image lines under the usual prefix, so line numbers are easy to read: images start on line 3. */
function withImages(...lines: string[]): string {
  return [`targetRepoPrefix: "${PREFIX}"`, 'images:', ...lines, ''].join('\n')
}

describe('parseDefinition: the seed file', () => {
  test('yields one entry per image with exact source, pin, target, selection and line', () => {
    const definition = parse(SEED)
    expect(definition.path).toBe(FILE)
    expect(definition.sha256).toBe(FILE_SHA)
    expect(definition.targetRepoPrefix).toBe(PREFIX)
    expect(definition.entries).toStrictEqual([
      {
        source: 'bitnami/keycloak-gatekeeper:9.0.3',
        sourceRef: {registry: 'docker.io', repository: 'bitnami/keycloak-gatekeeper', tag: '9.0.3'},
        pin: {kind: 'tag', tag: '9.0.3'},
        target: {registry: 'eu.gcr.io', repository: 'kyma-project/external/bitnami/keycloak-gatekeeper', tag: '9.0.3'},
        selection: {kind: 'whole'},
        signatures: NO_POLICY,
        line: 3,
      },
      {
        source: `busybox@${SHA}`,
        sourceRef: {registry: 'docker.io', repository: 'library/busybox', digest: SHA},
        pin: {kind: 'digest', digest: SHA},
        target: {registry: 'eu.gcr.io', repository: 'kyma-project/external/library/busybox', tag: '1.32.0-v1'},
        selection: {kind: 'whole'},
        signatures: NO_POLICY,
        line: 4,
      },
      {
        source: 'bitnami/postgres-exporter:0.11.1-debian-11-r69',
        sourceRef: {registry: 'docker.io', repository: 'bitnami/postgres-exporter', tag: '0.11.1-debian-11-r69'},
        pin: {kind: 'tag', tag: '0.11.1-debian-11-r69'},
        target: {registry: 'eu.gcr.io', repository: 'kyma-project/external/bitnami/postgres-exporter', tag: '0.11.1-debian-11-r69'},
        selection: {kind: 'platform', platform: 'linux/amd64', from: 'entry'},
        signatures: NO_POLICY,
        line: 6,
      },
    ])
  })

  test('`images: []` is valid and plans nothing', () => {
    const definition = parse(`targetRepoPrefix: "${PREFIX}"\nimages: []\n`)
    expect(definition.entries).toStrictEqual([])
    expect(definition.targetRepoPrefix).toBe(PREFIX)
  })
})

describe('parseDefinition: pins and target tags', () => {
  const cases: {name: string; image: string[]; pin: unknown; target: string}[] = [
    {
      name: 'a tag source pins the tag and keeps it as target tag',
      image: ['- source: "busybox:1.36"'],
      pin: {kind: 'tag', tag: '1.36'},
      target: `${PREFIX}library/busybox:1.36`,
    },
    {
      name: '`tag:` renames the target tag; the source tag stays the pin',
      image: ['- source: "busybox:1.36"', '  tag: "1.36-mirror"'],
      pin: {kind: 'tag', tag: '1.36'},
      target: `${PREFIX}library/busybox:1.36-mirror`,
    },
    {
      name: 'name:tag@digest pins the digest, the target keeps the source tag',
      image: [`- source: "busybox:1.36@${SHA}"`],
      pin: {kind: 'digest', digest: SHA},
      target: `${PREFIX}library/busybox:1.36`,
    },
    {
      name: 'name:tag@digest with `tag:` pins the digest, the target takes `tag:`',
      image: [`- source: "busybox:1.36@${SHA}"`, '  tag: "pinned"'],
      pin: {kind: 'digest', digest: SHA},
      target: `${PREFIX}library/busybox:pinned`,
    },
    {
      name: 'a digest source with `tag:` pins the digest',
      image: [`- source: "busybox@${SHA}"`, '  tag: "1.32.0-v1"'],
      pin: {kind: 'digest', digest: SHA},
      target: `${PREFIX}library/busybox:1.32.0-v1`,
    },
  ]
  for (const {name, image, pin, target} of cases) {
    test(name, () => {
      const [entry] = parse(withImages(...image)).entries
      expect(entry?.pin).toStrictEqual(pin as never)
      expect(entry && formatReference(entry.target)).toBe(target)
      expect(entry?.target.digest).toBeUndefined()
    })
  }
})

describe('parseDefinition: Docker Hub and other registries map under the prefix', () => {
  const cases: {source: string; target: string}[] = [
    {source: 'cypress/included:9.5.0', target: `${PREFIX}cypress/included:9.5.0`},
    {source: 'included:9.5.0', target: `${PREFIX}library/included:9.5.0`},
    {source: 'docker.io/library/included:9.5.0', target: `${PREFIX}library/included:9.5.0`},
    {source: 'quay.io/prometheus/node-exporter:v1.8.0', target: `${PREFIX}quay.io/prometheus/node-exporter:v1.8.0`},
    {source: 'localhost:5000/foo:1', target: `${PREFIX}localhost-5000/foo:1`},
  ]
  for (const {source, target} of cases) {
    test(`${source} → ${target}`, () => {
      const [entry] = parse(withImages(`- source: "${source}"`)).entries
      expect(entry && formatReference(entry.target)).toBe(target)
      expect(entry?.source).toBe(source)
    })
  }
})

describe('parseDefinition: each problem has file, line, column and message', () => {
  const cases: {name: string; text: string; want: Omit<Problem, 'file'>[]}[] = [
    {
      name: 'misspelt key amd64only',
      text: withImages('- source: "busybox:1"', '  amd64only: true'),
      want: [{line: 4, column: 3, message: 'unknown key "amd64only": did you mean amd64Only?'}],
    },
    {
      name: 'unknown top-level key',
      text: `targetRepoPrefix: "${PREFIX}"\nimages: []\nmirrors: []\n`,
      want: [{line: 3, column: 1, message: 'unknown key "mirrors" (allowed: targetRepoPrefix, signatures, platforms, images)'}],
    },
    {
      name: 'misspelt top-level key gets a suggestion',
      text: `targetRepoPrefix: "${PREFIX}"\nimagez: []\nimages: []\n`,
      want: [{line: 2, column: 1, message: 'unknown key "imagez": did you mean images?'}],
    },
    {
      name: 'tag written as a number',
      text: withImages(`- source: "busybox@${SHA}"`, '  tag: 1.32'),
      want: [{line: 4, column: 8, message: 'tag must be a string, got the number 1.32: quote it ("1.32") so YAML keeps it as written'}],
    },
    {
      name: 'tag written as a number keeps its source spelling in the hint',
      text: withImages('- source: "busybox:1"', '  tag: 1.10'),
      want: [{line: 4, column: 8, message: 'tag must be a string, got the number 1.1: quote it ("1.10") so YAML keeps it as written'}],
    },
    {
      name: 'amd64Only as a string',
      text: withImages('- source: "busybox:1"', '  amd64Only: "yes"'),
      want: [{line: 4, column: 14, message: 'amd64Only must be true or false, got "yes"'}],
    },
    {
      name: 'missing source',
      text: withImages('- source: "busybox:1"', '- tag: "1"'),
      want: [{line: 4, column: 3, message: 'images[1] is missing required key "source"'}],
    },
    {
      name: 'empty source',
      text: withImages('- source: ""'),
      want: [{line: 3, column: 11, message: 'source must not be empty'}],
    },
    {
      name: 'upper-case repository path',
      text: withImages('- source: "Bitnami/redis:7"'),
      want: [{line: 3, column: 11, message: 'source: invalid reference "Bitnami/redis:7": repository name must be lower case'}],
    },
    {
      name: 'digest of the wrong length',
      text: withImages('- source: "busybox@sha256:31a5"', '  tag: "1"'),
      want: [{line: 3, column: 11, message: 'source: invalid reference "busybox@sha256:31a5": sha256 digest must have 64 hex characters, "sha256:31a5" has 4'}],
    },
    {
      name: 'empty tag after the colon',
      text: withImages('- source: "busybox:"'),
      want: [{line: 3, column: 11, message: 'source: invalid reference "busybox:": tag after ":" is empty'}],
    },
    {
      name: 'neither tag nor digest',
      text: withImages('- source: "busybox"'),
      want: [{line: 3, column: 11, message: 'source busybox has neither a tag nor a digest: write the tag to mirror (e.g. busybox:1.0), or a tags: rule'}],
    },
    {
      name: 'digest source without `tag:` (the seed message)',
      text: withImages(`  - source: "busybox@${SHA}"`),
      want: [{line: 3, column: 13, message: `sha256 digest detected, but the tag was not specified: add \`tag:\` to name the target tag of busybox@${SHA}`}],
    },
    {
      name: 'invalid `tag:`',
      text: withImages('- source: "busybox:1"', '  tag: "-x"'),
      want: [{line: 4, column: 8, message: 'invalid tag "-x": tag "-x" is invalid: use letters, digits, "_", "." and "-", and do not start with "." or "-"'}],
    },
    {
      name: 'two spellings of one image write the same target',
      text: withImages('- source: "busybox:1"', '- source: "docker.io/library/busybox:1"'),
      want: [
        {line: 4, column: 11, message: `${PREFIX}library/busybox:1 is also the target of the entry on line 3: two entries must not write the same target tag`},
      ],
    },
    {
      name: 'a `tag:` that collides with another entry names the line of the other',
      text: withImages('- source: "busybox:1.36"', '- source: "alpine:3"', `- source: "busybox@${SHA}"`, '  tag: "1.36"'),
      want: [
        {
          line: 5,
          column: 11,
          message: `${PREFIX}library/busybox:1.36 is also the target of the entry on line 3: two entries must not write the same target tag`,
        },
      ],
    },
    {
      name: 'images is not a list',
      text: `targetRepoPrefix: "${PREFIX}"\nimages:\n`,
      want: [{line: 2, column: 8, message: 'images must be a list (write `images: []` for none), got null'}],
    },
    {
      name: 'images is missing',
      text: `targetRepoPrefix: "${PREFIX}"\n`,
      want: [{line: 1, column: 1, message: 'the file is missing required key "images"'}],
    },
    {
      name: 'the file is a scalar',
      text: 'hello\n',
      want: [{line: 1, column: 1, message: 'the file must be a mapping of keys, got "hello"'}],
    },
    {
      name: 'invalid targetRepoPrefix',
      text: `targetRepoPrefix: "kyma/external/"\nimages: []\n`,
      want: [
        {
          line: 1,
          column: 19,
          message:
            'targetRepoPrefix invalid target prefix "kyma/external/": target prefix must start with a registry host (containing "." or ":", or "localhost"), not "kyma"',
        },
      ],
    },
    {
      name: 'missing targetRepoPrefix without an override',
      text: 'images:\n- source: "busybox:1"\n',
      want: [{line: 1, column: 1, message: 'targetRepoPrefix is not set: add it to the file, or pass --target-repo-prefix / SYNCER_TARGET_REPO_PREFIX'}],
    },
    {
      name: 'YAML: unclosed quote',
      text: withImages('- source: "busybox:1'),
      want: [{line: 4, column: 1, message: 'YAML: Missing closing "quote'}],
    },
    {
      name: 'YAML: nested mapping in a compact mapping',
      text: 'images: source: x\n',
      want: [{line: 1, column: 9, message: 'YAML: Nested mappings are not allowed in compact mappings'}],
    },
    {
      name: 'YAML: duplicate key',
      text: withImages('- source: "busybox:1"', '  source: "alpine:1"'),
      want: [{line: 4, column: 3, message: 'YAML: Map keys must be unique'}],
    },
    {name: 'empty file', text: '', want: [{line: 1, column: 1, message: 'the definition file is empty: it needs an `images:` list'}]},
    {name: 'only a comment', text: '# nothing yet\n', want: [{line: 1, column: 1, message: 'the definition file is empty: it needs an `images:` list'}]},
  ]
  for (const {name, text, want} of cases) {
    test(name, () => {
      expect(problemsOf(text)).toStrictEqual(want.map((p) => ({file: FILE, ...p})))
    })
  }

  test('an empty targetRepoPrefix is one mistake, reported once', () => {
    const problems = problemsOf(`targetRepoPrefix: ""\nimages: []\n`)
    expect(problems.map((p) => `${p.line}:${p.column}`)).toStrictEqual(['1:19'])
    expect(problems[0]?.message).toMatch(/^targetRepoPrefix .*empty/)
  })

  test('the error message lists every problem as file:line:column: message', () => {
    const text = withImages('- source: "busybox:1"', '  amd64only: true')
    let error: unknown
    try {
      parse(text)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(DefinitionError)
    expect((error as DefinitionError).code).toBe('DEFINITION_INVALID')
    expect((error as DefinitionError).message).toBe(`${FILE}:4:3: unknown key "amd64only": did you mean amd64Only?`)
  })
})

describe('parseDefinition: several problems are reported at once, sorted by line', () => {
  test('schema and reference problems from different entries', () => {
    const text = withImages(
      '- source: "bad/Name:1"', // line 3: reference
      '- source: "busybox:1"', // line 4
      '  amd64only: true', // line 5: unknown key
      '- tag: "x"', // line 6: missing source
      '- source: "alpine:3"', // line 7
      '- source: "nginx:1"', // line 8
      '  amd64Only: 3', // line 9: type
      `- source: "redis@${SHA}"`, // line 10: digest without tag
      '- source: "alpine:3"', // line 11: duplicate of line 7
    )
    const problems = problemsOf(text)
    expect(problems.map((p) => [p.line, p.column])).toStrictEqual([
      [3, 11],
      [5, 3],
      [6, 3],
      [9, 14],
      [10, 11],
      [11, 11],
    ])
    expect(problems.map((p) => p.message)).toStrictEqual([
      'source: invalid reference "bad/Name:1": repository name must be lower case',
      'unknown key "amd64only": did you mean amd64Only?',
      'images[2] is missing required key "source"',
      'amd64Only must be true or false, got 3',
      `sha256 digest detected, but the tag was not specified: add \`tag:\` to name the target tag of redis@${SHA}`,
      `${PREFIX}library/alpine:3 is also the target of the entry on line 7: two entries must not write the same target tag`,
    ])
    expect(new Set(problems.map((p) => p.file))).toStrictEqual(new Set([FILE]))
  })

  test("a missing prefix does not hide the entries' own problems", () => {
    const problems = problemsOf('images:\n- source: "Busybox:1"\n')
    expect(problems.map((p) => `${p.line}:${p.column}`)).toStrictEqual(['1:1', '2:11'])
  })
})

describe('parseDefinition: the targetRepoPrefix option', () => {
  test('supplies a prefix the file lacks', () => {
    const definition = parse('images:\n- source: "busybox:1"\n', {targetRepoPrefix: 'localhost:5000/mirror/'})
    expect(definition.targetRepoPrefix).toBe('localhost:5000/mirror/')
    expect(definition.entries.map((e) => formatReference(e.target))).toStrictEqual(['localhost:5000/mirror/library/busybox:1'])
  })

  test('wins over the prefix in the file', () => {
    const definition = parse(withImages('- source: "busybox:1"'), {targetRepoPrefix: 'localhost:5000/mirror/'})
    expect(definition.targetRepoPrefix).toBe('localhost:5000/mirror/')
    expect(definition.entries.map((e) => formatReference(e.target))).toStrictEqual(['localhost:5000/mirror/library/busybox:1'])
  })

  test('an invalid override is reported', () => {
    const problems = problemsOf(withImages('- source: "busybox:1"'), {targetRepoPrefix: 'mirror/'})
    expect(problems).toHaveLength(1)
    expect(problems[0]?.message).toStartWith('targetRepoPrefix invalid target prefix "mirror/"')
  })
})

describe('loadDefinition', () => {
  let dir = ''
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'image-syncer-definition-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  test('reads the file and records the sha256 of its bytes', async () => {
    const path = join(dir, 'external-images.yaml')
    await writeFile(path, SEED)
    const definition = await loadDefinition(path)
    expect(definition.path).toBe(path)
    expect(definition.sha256).toBe(`sha256:${createHash('sha256').update(SEED).digest('hex')}`)
    expect(definition.entries.map((e) => e.line)).toStrictEqual([3, 4, 6])
  })

  test('passes the targetRepoPrefix option on', async () => {
    const path = join(dir, 'no-prefix.yaml')
    await writeFile(path, 'images:\n- source: "busybox:1"\n')
    const definition = await loadDefinition(path, {targetRepoPrefix: 'r.example.com/m'})
    expect(definition.entries.map((e) => formatReference(e.target))).toStrictEqual(['r.example.com/m/library/busybox:1'])
  })

  test('problems of a file on disk name that file', async () => {
    const path = join(dir, 'bad.yaml')
    await writeFile(path, withImages('- source: "busybox:1"', '  amd64only: true'))
    const error = await loadDefinition(path).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DefinitionError)
    expect((error as DefinitionError).problems).toStrictEqual([{file: path, line: 4, column: 3, message: 'unknown key "amd64only": did you mean amd64Only?'}])
  })

  const unreadable: {name: string; path: () => string; message: string}[] = [
    {name: 'a file that does not exist', path: () => join(dir, 'missing.yaml'), message: 'cannot read the definition file: no such file'},
    {name: 'a directory', path: () => dir, message: 'cannot read the definition file: it is a directory, not a regular file'},
    {name: 'a device', path: () => '/dev/zero', message: 'cannot read the definition file: it is a device, not a regular file'},
  ]
  for (const {name, path, message} of unreadable) {
    test(`refuses ${name} with a positioned problem`, async () => {
      const error = await loadDefinition(path()).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DefinitionError)
      expect((error as DefinitionError).problems).toStrictEqual([{file: path(), line: 1, column: 1, message}])
    })
  }
})

describe('hostile definition files', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'image-syncer-hostile-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  test('a file over 4 MiB (a 50 MB source string) is refused before it is parsed, and not echoed', async () => {
    const path = join(dir, 'huge.yaml')
    const body = withImages(`- source: "${'a'.repeat(50_000_000)}:1"`)
    await writeFile(path, body)
    const error = await loadDefinition(path).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DefinitionError)
    expect((error as DefinitionError).problems).toStrictEqual([
      {file: path, line: 1, column: 1, message: `cannot read the definition file: it is ${body.length} bytes, more than the 4 MiB allowed`},
    ])
  })

  test('a long value under the limit is quoted cut, not in full', async () => {
    const long = 'a'.repeat(1_000_000)
    const cases = [
      withImages(`- source: "${long}:1"`),
      withImages(`- source: "busybox:1"`, `  amd64Only: "${long}"`),
      withImages(`- source: "busybox:1"`, `  ? ${long}`, `  : true`),
      withImages(`- source: "busybox:1"`, `  tag: ${'9'.repeat(1_000_000)}`),
    ]
    for (const [i, text] of cases.entries()) {
      const path = join(dir, `long-${i}.yaml`)
      await writeFile(path, text)
      const error = await loadDefinition(path).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DefinitionError)
      const message = (error as DefinitionError).message
      expect(message).toContain('…')
      expect(message.length).toBeLessThan(2000)
    }
  })
})
