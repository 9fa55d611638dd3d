import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {rejectedWith, thrownBy} from '../../test/support/errors.ts'
import {createHash, generateKeyPairSync} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import {SignatureError, keyFingerprint, keyHint, loadTrustedRoot, parsePublicKey} from './trust.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-trust-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

const rejection = (promise: Promise<unknown>) => rejectedWith(SignatureError, promise)

const thrown = (run: () => unknown) => thrownBy(SignatureError, run)

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

describe('loadTrustedRoot', () => {
  test('public-good is the embedded snapshot: Fulcio, Rekor, CT logs and the TSA, loaded once', async () => {
    const root = await loadTrustedRoot({kind: 'public-good'})
    expect(root.tlogs.map((t) => t.baseUrl)).toContain('https://rekor.sigstore.dev')
    expect(root.certificateAuthorities.map((c) => c.uri)).toContain('https://fulcio.sigstore.dev')
    expect(root.ctlogs.length).toBeGreaterThan(0)
    expect(root.timestampAuthorities.length).toBeGreaterThan(0)
    expect(await loadTrustedRoot({kind: 'public-good'})).toBe(root)
  })

  test('a file holding a valid trusted root loads', async () => {
    const publicGood = await loadTrustedRoot({kind: 'public-good'})
    const path = await file('root.json', JSON.stringify(TrustedRoot.toJSON(publicGood)))
    const root = await loadTrustedRoot({kind: 'file', path})
    expect(root.tlogs.length).toBe(publicGood.tlogs.length)
  })

  test.each([
    ['a transparency log', (root: Record<string, any>) => root['tlogs'][0].publicKey.validFor, 'has the transparency log '],
    ['a CT log', (root: Record<string, any>) => root['ctlogs'][0].publicKey.validFor, 'has the certificate transparency log '],
    ['a certificate authority', (root: Record<string, any>) => root['certificateAuthorities'][0].validFor, 'has the certificate authority "https://'],
    ['a timestamp authority', (root: Record<string, any>) => root['timestampAuthorities'][0].validFor, 'has the timestamp authority "'],
  ])('%s without a validity start is TRUSTED_ROOT_INVALID, not valid since 1970', async (name, validFor, reason) => {
    const json = TrustedRoot.toJSON(await loadTrustedRoot({kind: 'public-good'})) as Record<string, any>
    delete validFor(json).start
    const path = await file(`no-start-${name.replaceAll(' ', '-')}.json`, JSON.stringify(json))
    const error = await rejection(loadTrustedRoot({kind: 'file', path}))
    expect(error.code).toBe('TRUSTED_ROOT_INVALID')
    expect(error.message).toStartWith(`trusted root ${path} ${reason}`)
    expect(error.message).toEndWith('without a validity start (validFor.start), which a trusted root must give')
  })

  test('a missing file is TRUSTED_ROOT_UNREADABLE, naming the path', async () => {
    const path = join(dir, 'nope.json')
    const error = await rejection(loadTrustedRoot({kind: 'file', path}))
    expect(error.code).toBe('TRUSTED_ROOT_UNREADABLE')
    expect(error.message).toBe(`cannot read trusted root ${path}: no such file`)
    expect(error.path).toBe(path)
  })

  const invalid: Array<[string, string, string]> = [
    ['not JSON', '{"mediaType":', 'is not valid JSON'],
    ['not an object', '[1]', 'is not a JSON object'],
    [
      'another document',
      '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}',
      'is not a sigstore trusted root (mediaType "application/vnd.dev.sigstore.bundle.v0.3+json")',
    ],
    [
      'empty',
      '{"mediaType":"application/vnd.dev.sigstore.trustedroot.v0.2+json","tlogs":[]}',
      'has no certificate authorities, transparency logs or timestamp authorities',
    ],
    [
      'a broken certificate',
      '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AAAA"}]}}]}',
      'has an unusable key or certificate',
    ],
  ]
  test.each(invalid)('a file that is %s is TRUSTED_ROOT_INVALID', async (name, text, reason) => {
    const path = await file(`${name.replaceAll(' ', '-')}.json`, text)
    const error = await rejection(loadTrustedRoot({kind: 'file', path}))
    expect(error.code).toBe('TRUSTED_ROOT_INVALID')
    expect(error.message).toStartWith(`trusted root ${path} ${reason}`)
  })
})

describe('public keys', () => {
  test('the fingerprint is sha256 of the DER SPKI, whatever the PEM line breaks', () => {
    const key = makeKeyPair()
    const der = key.publicKey.export({format: 'der', type: 'spki'})
    const expected = `sha256:${createHash('sha256').update(der).digest('hex')}`
    expect(keyFingerprint(key.publicPem)).toBe(expected)
    expect(keyFingerprint(key.publicPem.replaceAll('\n', '\r\n'))).toBe(expected)
    expect(keyHint(key.publicKey)).toBe(createHash('sha256').update(der).digest('base64'))
  })

  test('P-256, RSA (PKCS#1 too) and Ed25519 keys parse', () => {
    for (const kind of ['p256', 'rsa', 'ed25519'] as const) expect(parsePublicKey(makeKeyPair(kind).publicPem).type).toBe('public')
    const pkcs1 = makeKeyPair('rsa').publicKey.export({format: 'pem', type: 'pkcs1'}).toString()
    expect(parsePublicKey(pkcs1).asymmetricKeyType).toBe('rsa')
  })

  test('things that are not usable public keys are PUBLIC_KEY_INVALID with a clear message', () => {
    const pair = makeKeyPair()
    // The label is checked before the content, so any certificate-labelled block will do.
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    const p384 = generateKeyPairSync('ec', {namedCurve: 'P-384'}).publicKey.export({format: 'pem', type: 'spki'}).toString()
    const rsa1024 = generateKeyPairSync('rsa', {modulusLength: 1024}).publicKey.export({format: 'pem', type: 'spki'}).toString()
    const cases: Array<[string, string]> = [
      ['hello', 'key.pub is not PEM (no -----BEGIN …----- line)'],
      [pair.privatePem, 'key.pub is a PEM "PRIVATE KEY", not a public key; give the "PUBLIC KEY" file (e.g. cosign.pub)'],
      [cert, 'key.pub is a PEM "CERTIFICATE", not a public key; give the "PUBLIC KEY" file (e.g. cosign.pub)'],
      ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'key.pub could not be parsed as a PEM public key'],
      [p384, 'key.pub is an ECDSA key on secp384r1; only P-256 is supported (sigstore verifies with SHA-256)'],
      [rsa1024, 'key.pub is a 1024-bit RSA key; at least 2048 bits are required'],
    ]
    for (const [pem, message] of cases) {
      const error = thrown(() => parsePublicKey(pem, 'key.pub'))
      expect(error.code).toBe('PUBLIC_KEY_INVALID')
      expect(error.message).toBe(message)
    }
  })
})
