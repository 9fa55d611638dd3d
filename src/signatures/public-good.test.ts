/**
 * Real bundles from the public-good sigstore instance (sigstore-js `tests/bundles`), verified offline with the
 * trusted root embedded in `@sigstore/tuf`. They are npm provenance-style attestations: keyless, signed by
 * brian@dehamer.com via GitHub's OAuth issuer, and their in-toto subject is a package by its sha512 digest
 * (statement.json), so that digest is the "image" they are bound to.
 */
import {describe, expect, test} from 'bun:test'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {loadTrustedRoot} from './trust.ts'
import type {Identity} from './types.ts'
import {buildTrust, verifyCandidate} from './verify.ts'

/** The repository's copy when there is one, else the shared research fixtures. */
/** Real public-good bundles (sigstore-js's test fixtures), kept in the repository so the test needs nothing else. */
const FIXTURES = join(import.meta.dir, '../../test/fixtures/sigstore/public-good')
const SIGNER = 'brian@dehamer.com'
const ISSUER = 'https://github.com/login/oauth'

const statement = JSON.parse(readFileSync(join(FIXTURES, 'statement.json'), 'utf8')) as {subject: Array<{digest: {sha512: string}}>; predicateType: string}
const DIGEST = `sha512:${statement.subject[0]!.digest.sha512}`
const bundles = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.sigstore'))
  .sort()
const ME: Identity = {issuer: ISSUER, subject: {kind: 'exact', value: SIGNER}}

describe('public-good bundles, offline, with the embedded trusted root', async () => {
  const trustedRoot = await loadTrustedRoot({kind: 'public-good'})
  const trust = buildTrust({keys: [], identities: [ME], trustedRoot})

  test('all five fixtures are present', () => {
    expect(bundles).toHaveLength(5)
  })

  // npm provenance is an attestation (its predicate is not cosign's signing predicate), never a signature.
  test.each(bundles)('%s verifies and is bound to the statement subject', (name) => {
    const bytes = readFileSync(join(FIXTURES, name))
    const payload = JSON.parse(
      Buffer.from((JSON.parse(bytes.toString('utf8')) as {dsseEnvelope: {payload: string}}).dsseEnvelope.payload, 'base64').toString('utf8'),
    )
    expect(payload).toEqual(statement)
    const verdict = verifyCandidate({kind: 'bundle', bundle: bytes, source: name}, DIGEST, trust)
    expect(verdict).toEqual({
      kind: 'verified',
      signer: {kind: 'identity', subject: SIGNER, issuer: ISSUER},
      source: name,
      claim: {kind: 'attestation', predicateType: statement.predicateType},
    })
  })

  test.each(bundles)('%s fails for another digest, another signer, or with a byte of the payload changed', (name) => {
    const bytes = readFileSync(join(FIXTURES, name))
    const other = verifyCandidate({kind: 'bundle', bundle: bytes, source: name}, `sha512:${'0'.repeat(128)}`, trust)
    expect(other).toMatchObject({kind: 'failed', reason: expect.stringContaining('subjects do not include')})
    const stranger = buildTrust({keys: [], identities: [{issuer: ISSUER, subject: {kind: 'regexp', pattern: 'dehamer\\.com'}}], trustedRoot})
    expect(verifyCandidate({kind: 'bundle', bundle: bytes, source: name}, DIGEST, stranger)).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('UNTRUSTED_SIGNER_ERROR'),
    })
    const json = JSON.parse(bytes.toString('utf8')) as {dsseEnvelope: {payload: string}}
    json.dsseEnvelope.payload = Buffer.from(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8').replace('"sigstore"', '"sigstorf"')).toString(
      'base64',
    )
    const tampered = verifyCandidate({kind: 'bundle', bundle: new TextEncoder().encode(JSON.stringify(json)), source: name}, DIGEST, trust)
    expect(tampered.kind).toBe('failed')
  })
})
