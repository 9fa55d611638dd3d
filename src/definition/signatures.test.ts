/** The `signatures:` blocks of a definition: merging, defaults, paths, and every contradiction at its line. */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {generateKeyPairSync} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DefinitionError, type Problem} from './errors.ts'
import {loadDefinition} from './load.ts'

let dir: string
const pem = generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({format: 'pem', type: 'spki'}).toString()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-sigdef-'))
  await writeFile(join(dir, 'vendor.pub'), pem)
  await writeFile(join(dir, 'other.pub'), pem)
  await writeFile(join(dir, 'not-a-key.pub'), 'hello')
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function load(body: string) {
  const path = join(dir, `def-${Math.random().toString(36).slice(2)}.yaml`)
  await writeFile(path, `targetRepoPrefix: "eu.gcr.io/mirror/"\n${body}`)
  return {path, definition: () => loadDefinition(path)}
}

async function problems(body: string): Promise<Array<Pick<Problem, 'line' | 'column' | 'message'>>> {
  const {definition} = await load(body)
  try {
    await definition()
  } catch (err) {
    if (err instanceof DefinitionError) return err.problems.map(({line, column, message}) => ({line, column, message}))
    throw err
  }
  throw new Error('loaded without problems')
}

describe('signature policy of entries', () => {
  test('no block: if-present, no keys, the public-good root, copy on, no signing', async () => {
    const {definition} = await load('images:\n- source: "a/b:1"\n')
    expect((await definition()).entries[0]!.signatures).toEqual({
      verify: 'if-present',
      keys: [],
      identities: [],
      trustedRoot: {kind: 'public-good'},
      copy: true,
      sign: null,
      attestations: [],
    })
  })

  test("an image's block replaces the global keys it names and inherits the others; paths are relative to the file", async () => {
    const {definition} = await load(
      [
        'signatures:',
        '  verify: required',
        '  keys: [./vendor.pub]',
        '  trustedRoot: ./root.json',
        'images:',
        '- source: "a/b:1"',
        '- source: "a/c:1"',
        '  signatures:',
        '    keys: [other.pub]',
        '    identities:',
        '      - issuer: https://accounts.google.com',
        "        subjectRegExp: '^krel-trust@.*$'",
        '    copy: false',
        '    sign: {key: ./mirror.key, format: legacy}',
        '',
      ].join('\n'),
    )
    const [first, second] = (await definition()).entries
    expect(first!.signatures).toEqual({
      verify: 'required',
      keys: [{path: join(dir, 'vendor.pub'), pem}],
      identities: [],
      trustedRoot: {kind: 'file', path: join(dir, 'root.json')},
      copy: true,
      sign: null,
      attestations: [],
    })
    expect(second!.signatures).toEqual({
      verify: 'required',
      keys: [{path: join(dir, 'other.pub'), pem}],
      identities: [{issuer: 'https://accounts.google.com', subject: {kind: 'regexp', pattern: '^krel-trust@.*$'}}],
      trustedRoot: {kind: 'file', path: join(dir, 'root.json')},
      copy: false,
      sign: {kind: 'key', keyPath: join(dir, 'mirror.key'), format: 'legacy'},
      attestations: [],
    })
  })

  test('keyless signing defaults to the bundle format', async () => {
    const {definition} = await load('signatures:\n  sign: {keyless: true}\nimages:\n- source: "a/b:1"\n')
    expect((await definition()).entries[0]!.signatures.sign).toEqual({kind: 'keyless', format: 'bundle'})
  })
})

describe('signature policy problems, each at its line', () => {
  const cases: Array<[string, string, Array<Pick<Problem, 'line' | 'column' | 'message'>>]> = [
    [
      'misspelt key gets a suggestion',
      'signatures:\n  verfy: required\nimages: []\n',
      [{line: 3, column: 3, message: 'unknown key "verfy": did you mean verify?'}],
    ],
    [
      'unknown verify mode',
      'signatures:\n  verify: requird\nimages: []\n',
      [{line: 3, column: 11, message: 'signatures.verify must be one of required, if-present, skip, got "requird": did you mean required?'}],
    ],
    [
      'required with nothing to verify against',
      'signatures:\n  verify: required\nimages:\n- source: "a/b:1"\n',
      [{line: 3, column: 11, message: 'verify: required needs keys or identities to verify signatures against'}],
    ],
    [
      'an identity with both subject forms',
      'signatures:\n  identities:\n  - issuer: https://i\n    subject: a\n    subjectRegExp: b\nimages:\n- source: "a/b:1"\n',
      [{line: 4, column: 5, message: 'an identity needs exactly one of subject or subjectRegExp'}],
    ],
    [
      'an invalid regular expression',
      'signatures:\n  identities:\n  - issuer: https://i\n    subjectRegExp: \'(unclosed\'\nimages:\n- source: "a/b:1"\n',
      [{line: 5, column: 20, message: 'subjectRegExp is not a valid regular expression: (unclosed'}],
    ],
    [
      'sign with both key and keyless',
      'signatures:\n  sign: {key: k.pem, keyless: true}\nimages:\n- source: "a/b:1"\n',
      [{line: 3, column: 9, message: 'sign takes either key or keyless: true, not both'}],
    ],
    [
      'a missing key file and a file that is not a key',
      'signatures:\n  keys: [./absent.pub, ./not-a-key.pub]\nimages:\n- source: "a/b:1"\n',
      [
        {line: 3, column: 10, message: `cannot read key file ${'DIR'}/absent.pub: no such file`},
        {line: 3, column: 24, message: `key file ${'DIR'}/not-a-key.pub is not PEM (no -----BEGIN …----- line)`},
      ],
    ],
  ]
  for (const [name, body, want] of cases) {
    test(name, async () => {
      const got = await problems(body)
      expect(got).toEqual(want.map((p) => ({...p, message: p.message.replaceAll('DIR', dir)})))
    })
  }
})

describe('attestations', () => {
  const SLSA = 'https://slsa.dev/provenance/v1'

  test('an unreadable key file of an attestation is a problem at its line', async () => {
    const got = await problems(
      `signatures:\n  keys: [./vendor.pub]\n  attestations:\n  - predicateType: ${SLSA}\n    keys: [./absent.pub]\nimages:\n- source: "a/b:1"\n`,
    )
    expect(got).toEqual([{line: 6, column: 12, message: `cannot read key file ${dir}/absent.pub: no such file`}])
  })

  test('an item without keys or identities uses the entry trust; one with its own reads its key files', async () => {
    const {definition} = await load(
      [
        'signatures:',
        '  keys: [./vendor.pub]',
        '  attestations:',
        `  - predicateType: ${SLSA}`,
        '  - predicateType: https://spdx.dev/Document',
        '    keys: [./other.pub]',
        '    identities: [{issuer: https://i, subject: builder}]',
        'images:',
        '- source: "a/b:1"',
        '- source: "a/c:1"',
        '  signatures:',
        '    attestations: []',
        '',
      ].join('\n'),
    )
    const [first, second] = (await definition()).entries
    expect(first!.signatures.attestations).toEqual([
      {predicateType: SLSA, trust: {kind: 'entry'}},
      {
        predicateType: 'https://spdx.dev/Document',
        trust: {kind: 'own', keys: [{path: join(dir, 'other.pub'), pem}], identities: [{issuer: 'https://i', subject: {kind: 'exact', value: 'builder'}}]},
      },
    ])
    // An image's own list replaces the global one, like every other key of the block.
    expect(second!.signatures.attestations).toEqual([])
  })

  test('every problem at once, at its line, with a suggestion for a misspelt key', async () => {
    const got = await problems(
      [
        'signatures:', // 2
        '  verify: if-present', // 3
        '  attestations:', // 4
        '  - predicatType: https://x.dev/a', // 5
        '  - predicateType: slsaprovenance', // 6
        '  - predicateType: https://sigstore.dev/cosign/sign/v1', // 7
        `  - predicateType: ${SLSA}`, // 8
        `  - predicateType: ${SLSA}`, // 9
        '  - predicateType: https://spdx.dev/Document', // 10
        '    keys: []', // 11
        '  - predicateType: https://cyclonedx.org/bom', // 12
        '    identities: [{issuer: https://i}]', // 13
        'images:',
        '- source: "a/b:1"',
        '',
      ].join('\n'),
    )
    expect(got).toEqual([
      {line: 5, column: 5, message: 'signatures.attestations[0] is missing required key "predicateType"'},
      {line: 5, column: 5, message: 'unknown key "predicatType": did you mean predicateType?'},
      {line: 6, column: 20, message: 'predicateType must be a predicate type URI such as https://slsa.dev/provenance/v1, got "slsaprovenance"'},
      {
        line: 7,
        column: 20,
        message: "https://sigstore.dev/cosign/sign/v1 is cosign's signature predicate, not an attestation: use verify: required to require a signature",
      },
      {line: 8, column: 5, message: `attestation ${SLSA} needs keys or identities: give them in the attestation or in signatures`},
      {line: 9, column: 20, message: `attestation ${SLSA} is listed twice`},
      {
        line: 10,
        column: 5,
        message: "attestation https://spdx.dev/Document has empty keys and identities: give at least one, or leave both out to use the entry's",
      },
      {line: 13, column: 18, message: 'an identity needs exactly one of subject or subjectRegExp'},
    ])
  })
})

describe('provenance', () => {
  test('provenance: true at the top reaches every entry with its signer; an entry may turn it off', async () => {
    const {definition} = await load(
      'signatures:\n  sign:\n    key: ./mirror.key\n  provenance: true\nimages:\n- source: "a:1"\n- source: "b:1"\n  signatures:\n    provenance: false\n',
    )
    const entries = (await definition()).entries
    expect(entries.map((e) => e.signatures.provenance)).toEqual([true, undefined])
    expect(entries[0]!.signatures.sign).toEqual({kind: 'key', keyPath: join(dir, 'mirror.key'), format: 'bundle'})
  })

  test('provenance without sign: is a problem at its line: nothing could sign the statement', async () => {
    expect(await problems('images:\n- source: "a:1"\n  signatures:\n    provenance: true\n')).toEqual([
      {line: 5, column: 17, message: 'provenance: true needs sign: (a key or keyless: true) to sign the provenance with'},
    ])
  })
})
