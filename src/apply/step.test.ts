/** Decoding plan entries into apply's steps: one case per kind of entry, selection, look and trust. */
import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {dg, POLICY} from '../../test/support/plans.ts'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import type {PlanEntry} from '../plan/model.ts'
import {sha256Digest} from '../ref/digest.ts'
import {BadReferenceError} from '../ref/errors.ts'
import {SignatureError} from '../signatures/trust.ts'
import {type ApplyStep, decodeSteps, type Stance} from './step.ts'

const REVIEWED: Stance = {planAge: 'reviewed', movedSources: 'refuse'}
const SOURCE_DIGEST = dg('image')
const INDEX = dg('index')
const SUBSET = dg('subset')
const PREFIX = 'registry.example/mirror/'

function entry(change: Partial<PlanEntry> = {}): PlanEntry {
  return {
    source: 'quay.io/acme/app:1.0',
    sourceRepository: 'quay.io/acme/app',
    sourceDigest: SOURCE_DIGEST,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    platforms: ['linux/amd64'],
    selection: {kind: 'whole'},
    target: `${PREFIX}quay.io/acme/app:1.0`,
    action: 'to-copy',
    targetDigest: null,
    signature: {policy: POLICY, status: 'unsigned', signers: [], found: 0, reasons: [], attestations: []},
    ...change,
  }
}

const policy = (change: Partial<PlanEntry['signature']['policy']>): Partial<PlanEntry> => ({signature: {...entry().signature, policy: {...POLICY, ...change}}})

async function decodeOne(planned: PlanEntry, stance: Stance = REVIEWED): Promise<ApplyStep> {
  const [step, ...rest] = await decodeSteps([planned], stance)
  expect(rest).toEqual([])
  return step!
}

async function copyOf(planned: PlanEntry, stance: Stance = REVIEWED) {
  const step = await decodeOne(planned, stance)
  if (step.kind !== 'copy') throw new Error(`decoded to ${step.kind}, want copy`)
  return step.copy
}

const identity = {source: 'quay.io/acme/app:1.0', target: `${PREFIX}quay.io/acme/app:1.0`, sourceDigest: SOURCE_DIGEST}
const PUBLIC_GOOD_TRUST = {entry: {keys: [], identities: [], trustedRoot: {kind: 'public-good' as const}}, attestations: []}

describe('decodeSteps: what each entry does', () => {
  test('a to-copy entry becomes a copy: references parsed, the planned digest, its looks and its resolved trust', async () => {
    expect(await decodeOne(entry())).toStrictEqual({
      kind: 'copy',
      identity,
      copy: {
        source: {registry: 'quay.io', repository: 'acme/app', name: 'quay.io/acme/app'},
        target: {registry: 'registry.example', repository: 'mirror/quay.io/acme/app', tag: '1.0', name: `${PREFIX}quay.io/acme/app:1.0`},
        digest: SOURCE_DIGEST,
        content: {kind: 'whole'},
        looks: {kind: 'target-and-source', tag: '1.0', recorded: SOURCE_DIGEST},
        signatures: {verify: 'if-present', trust: {kind: 'resolved', input: PUBLIC_GOOD_TRUST}, copy: true, sign: null, provenance: null},
      },
    })
  })

  test('an already-present entry sends nothing', async () => {
    expect(await decodeOne(entry({action: 'already-present', targetDigest: SOURCE_DIGEST}))).toStrictEqual({kind: 'already-present', identity})
  })

  test('a conflicting entry keeps what the target held, for the refusal', async () => {
    expect(await decodeOne(entry({action: 'conflicting-ID', targetDigest: dg('theirs')}))).toStrictEqual({
      kind: 'conflict',
      identity,
      targetDigest: dg('theirs'),
    })
  })

  test('a to-copy entry whose target does not parse, or names no tag, is unreadable with the reference error', async () => {
    for (const target of [`${PREFIX}Bad Name:1`, `${PREFIX}quay.io/acme/app@${SOURCE_DIGEST}`]) {
      const step = await decodeOne(entry({target}))
      expect(step.kind).toBe('unreadable')
      if (step.kind !== 'unreadable') continue
      expect(step.identity.target).toBe(target)
      expect(step.error).toBeInstanceOf(BadReferenceError)
      expect((step.error as BadReferenceError).input).toBe(target)
    }
  })

  test('an unreadable sourceRepository is the entry failure, before any trust is resolved', async () => {
    const step = await decodeOne(
      entry({sourceRepository: 'quay.io/Acme/app', ...policy({trustedRoot: {kind: 'file', path: '/nonexistent/root.json', sha256: dg('root')}})}),
    )
    expect(step.kind).toBe('unreadable')
    if (step.kind === 'unreadable') expect(step.error).toBeInstanceOf(BadReferenceError)
  })

  test('steps come back in plan order, one per entry', async () => {
    const entries = [entry(), entry({action: 'already-present', targetDigest: SOURCE_DIGEST}), entry({action: 'conflicting-ID', targetDigest: dg('theirs')})]
    expect((await decodeSteps(entries, REVIEWED)).map((s) => s.kind)).toEqual(['copy', 'already-present', 'conflict'])
  })
})

describe('decodeSteps: platform selection', () => {
  test('one platform picked out of an index: its manifest is copied, the source tag recorded the index', async () => {
    const copy = await copyOf(entry({selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: INDEX}}))
    expect(copy.content).toStrictEqual({kind: 'platform', platform: 'linux/amd64', index: INDEX})
    expect(copy.digest).toBe(SOURCE_DIGEST)
    expect(copy.looks).toStrictEqual({kind: 'target-and-source', tag: '1.0', recorded: INDEX})
  })

  test('one platform of a single manifest: no index, the source tag recorded the manifest itself', async () => {
    const copy = await copyOf(entry({selection: {kind: 'platform', platform: 'linux/amd64', indexDigest: null}}))
    expect(copy.content).toStrictEqual({kind: 'platform', platform: 'linux/amd64', index: null})
    expect(copy.looks).toStrictEqual({kind: 'target-and-source', tag: '1.0', recorded: SOURCE_DIGEST})
  })

  test('a platform subset: the new index is what the tag gets, computed from the source index the tag recorded', async () => {
    const platforms = ['linux/amd64', 'linux/arm64']
    const copy = await copyOf(entry({sourceDigest: SUBSET, platforms, selection: {kind: 'platforms', platforms, indexDigest: INDEX, digest: SUBSET}}))
    expect(copy.content).toStrictEqual({kind: 'platforms', platforms, index: INDEX, digest: SUBSET})
    expect(copy.digest).toBe(SUBSET)
    expect(copy.looks).toStrictEqual({kind: 'target-and-source', tag: '1.0', recorded: INDEX})
  })
})

describe('decodeSteps: looks before writing', () => {
  test('a plan just made looks at nothing, and its source is not even read', async () => {
    expect((await copyOf(entry(), {planAge: 'just-made', movedSources: 'refuse'})).looks).toStrictEqual({kind: 'none'})
    expect((await copyOf(entry({source: 'not a reference'}), {planAge: 'just-made', movedSources: 'refuse'})).looks).toStrictEqual({kind: 'none'})
  })

  test('--allow-moved-sources looks at the target tag only', async () => {
    expect((await copyOf(entry({source: 'not a reference'}), {planAge: 'reviewed', movedSources: 'allow'})).looks).toStrictEqual({kind: 'target'})
  })

  test('a digest-pinned source looks at the target tag only: the pin is in the definition', async () => {
    expect((await copyOf(entry({source: `quay.io/acme/app@${SOURCE_DIGEST}`}))).looks).toStrictEqual({kind: 'target'})
  })

  test('a reviewed plan that refuses moved sources reads its source: one that does not parse is unreadable', async () => {
    const step = await decodeOne(entry({source: 'not a reference'}))
    expect(step.kind).toBe('unreadable')
    if (step.kind === 'unreadable') expect(step.error).toBeInstanceOf(BadReferenceError)
  })
})

describe('decodeSteps: signatures', () => {
  const key = makeKeyPair('p256')
  const other = makeKeyPair('p256')
  let dir: string
  let rootPath: string
  const ROOT = '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}'
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'step-test-'))
    rootPath = join(dir, 'trusted_root.json')
    await writeFile(rootPath, ROOT)
  })
  afterAll(() => rm(dir, {recursive: true, force: true}))

  test('verify: skip with no attestation required resolves no trust at all', async () => {
    const copy = await copyOf(entry(policy({verify: 'skip', copy: false, trustedRoot: {kind: 'file', path: '/nonexistent/root.json', sha256: dg('root')}})))
    expect(copy.signatures).toStrictEqual({verify: 'skip', trust: {kind: 'none'}, copy: false, sign: null, provenance: null})
  })

  test('keys, identities and attestations become trust inputs; an attestation with its own keys keeps the entry root', async () => {
    const identity = {issuer: 'https://issuer.example', subject: {kind: 'exact' as const, value: 'ci@example'}}
    const attestations = [
      {predicateType: 'https://slsa.dev/provenance/v1', trust: {kind: 'entry' as const}},
      {predicateType: 'https://spdx.dev/Document', trust: {kind: 'own' as const, keys: [{fingerprint: 'own', pem: other.publicPem}], identities: []}},
    ]
    const sign = {kind: 'key' as const, keyPath: '/keys/mirror.key', format: 'bundle' as const}
    const copy = await copyOf(entry(policy({verify: 'skip', keys: [{fingerprint: 'k', pem: key.publicPem}], identities: [identity], attestations, sign})))
    const trusted = {keys: [{pem: key.publicPem}], identities: [identity], trustedRoot: {kind: 'public-good' as const}}
    expect(copy.signatures).toStrictEqual({
      verify: 'skip',
      trust: {
        kind: 'resolved',
        input: {
          entry: trusted,
          attestations: [
            {predicateType: 'https://slsa.dev/provenance/v1', trust: trusted},
            {predicateType: 'https://spdx.dev/Document', trust: {keys: [{pem: other.publicPem}], identities: [], trustedRoot: {kind: 'public-good'}}},
          ],
        },
      },
      copy: true,
      sign,
      provenance: null,
    })
  })

  test('a trusted root file that is what the plan pinned is trusted by its path', async () => {
    const copy = await copyOf(entry(policy({verify: 'required', trustedRoot: {kind: 'file', path: rootPath, sha256: sha256Digest(ROOT)}})))
    expect(copy.signatures.trust).toStrictEqual({
      kind: 'resolved',
      input: {entry: {keys: [], identities: [], trustedRoot: {kind: 'file', path: rootPath}}, attestations: []},
    })
  })

  test('a trusted root file changed since the plan leaves the trust unusable, for the entry to fail with when it verifies', async () => {
    const [changed, again] = await decodeSteps(
      [
        entry(policy({verify: 'required', trustedRoot: {kind: 'file', path: rootPath, sha256: dg('planned root')}})),
        entry(policy({verify: 'required', trustedRoot: {kind: 'file', path: rootPath, sha256: sha256Digest(ROOT)}})),
      ],
      REVIEWED,
    )
    const trust = changed?.kind === 'copy' ? changed.copy.signatures.trust : null
    expect(trust?.kind).toBe('unusable')
    if (trust?.kind !== 'unusable') return
    expect(trust.error).toBeInstanceOf(SignatureError)
    expect((trust.error as SignatureError).code).toBe('TRUSTED_ROOT_INVALID')
    expect((trust.error as SignatureError).message).toBe(
      `trusted root ${rootPath} changed since the plan was made (${sha256Digest(ROOT)}, planned ${dg('planned root')}): plan again`,
    )
    // The same file, read once, still resolves for the entry that pinned what it holds.
    expect(again?.kind === 'copy' ? again.copy.signatures.trust.kind : null).toBe('resolved')
  })

  test('an unreadable trusted root file leaves the trust unusable', async () => {
    const copy = await copyOf(
      entry(
        policy({
          attestations: [{predicateType: 'https://slsa.dev/provenance/v1', trust: {kind: 'entry'}}],
          verify: 'skip',
          trustedRoot: {kind: 'file', path: join(dir, 'missing.json'), sha256: dg('root')},
        }),
      ),
    )
    expect(copy.signatures.trust.kind).toBe('unusable')
    if (copy.signatures.trust.kind !== 'unusable') return
    expect(copy.signatures.trust.error).toBeInstanceOf(SignatureError)
    expect((copy.signatures.trust.error as SignatureError).code).toBe('TRUSTED_ROOT_UNREADABLE')
  })
})
