import {afterAll, beforeAll, describe, expect, test} from 'bun:test'
import {rejectedWith} from '../../test/support/errors.ts'
import {generateKeyPairSync, verify} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {makeKeyPair} from '../../test/support/sigstore/test-keys.ts'
import {COSIGN_ANNOTATIONS} from './legacy.ts'
import {imageStatement, keylessToken, loadSigningKey, signBundleWithKey, signLegacyWithKey, signingKeyFromPem, simpleSigningPayload} from './sign.ts'
import {SignatureError, keyFingerprint, keyHint} from './trust.ts'

const DIGEST = `sha256:${'ab'.repeat(32)}`
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-sign-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

const rejection = (promise: Promise<unknown>) => rejectedWith(SignatureError, promise)

async function keyFile(name: string, pem: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, pem)
  return path
}

describe('payloads', () => {
  test('the simple-signing payload is byte-identical to what cosign (Go json.Marshal) signs', () => {
    expect(text(simpleSigningPayload('registry.example/app', DIGEST))).toBe(
      `{"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`,
    )
  })

  test('the image statement is cosign v3 sign predicate with the digest as subject', () => {
    expect(JSON.parse(text(imageStatement(DIGEST)))).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{digest: {sha256: 'ab'.repeat(32)}}],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    })
  })

  test('a value that is not a digest is refused', () => {
    expect(() => simpleSigningPayload('r', 'latest')).toThrow(SignatureError)
    expect(() => imageStatement('sha256:ABC')).toThrow('"sha256:ABC" is not an image digest')
  })
})

describe('loadSigningKey', () => {
  const pair = makeKeyPair()

  test('PKCS#8, SEC1 "EC PRIVATE KEY" and encrypted PKCS#8 with its password load to the same key', async () => {
    const sec1 = pair.privateKey.export({format: 'pem', type: 'sec1'}).toString()
    const encrypted = pair.privateKey.export({format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'hunter2'}).toString()
    expect(encrypted).toStartWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')
    const keys = [
      await loadSigningKey(await keyFile('p8.pem', pair.privatePem)),
      await loadSigningKey(await keyFile('sec1.pem', sec1)),
      await loadSigningKey(await keyFile('enc.pem', encrypted), 'hunter2'),
    ]
    for (const key of keys) {
      expect(key.fingerprint).toBe(keyFingerprint(pair.publicPem))
      expect(key.hint).toBe(keyHint(pair.publicKey))
      expect(key.publicKeyPem).toBe(pair.publicPem)
    }
  })

  test('RSA and Ed25519 keys load', async () => {
    for (const kind of ['rsa', 'ed25519'] as const) {
      const other = makeKeyPair(kind)
      expect((await loadSigningKey(await keyFile(`${kind}.pem`, other.privatePem))).fingerprint).toBe(keyFingerprint(other.publicPem))
    }
  })

  test('every refusal has a code and names the file', async () => {
    const encrypted = pair.privateKey.export({format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'hunter2'}).toString()
    const cosign = '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n'
    const p384 = generateKeyPairSync('ec', {namedCurve: 'P-384'}).privateKey.export({format: 'pem', type: 'pkcs8'}).toString()
    const cases: Array<[string, string, string | undefined, string, string]> = [
      [
        'cosign.key',
        cosign,
        'pw',
        'SIGNING_KEY_UNSUPPORTED',
        'is a cosign-encrypted key (ENCRYPTED SIGSTORE PRIVATE KEY), which is not supported; export it as PKCS#8 PEM',
      ],
      ['nopw.pem', encrypted, undefined, 'SIGNING_KEY_PASSWORD', 'is encrypted and no password was given'],
      ['badpw.pem', encrypted, 'wrong', 'SIGNING_KEY_PASSWORD', 'could not be decrypted with the given password'],
      ['pub.pem', pair.publicPem, undefined, 'SIGNING_KEY_INVALID', 'is a PEM "PUBLIC KEY", not a private key'],
      ['junk.pem', 'junk', undefined, 'SIGNING_KEY_INVALID', 'is not PEM'],
      [
        'broken.pem',
        '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
        undefined,
        'SIGNING_KEY_INVALID',
        'could not be parsed as a PEM private key',
      ],
      ['p384.pem', p384, undefined, 'SIGNING_KEY_UNSUPPORTED', 'is an ECDSA key on secp384r1; only P-256 is supported'],
    ]
    for (const [name, pem, password, code, reason] of cases) {
      const path = await keyFile(name, pem)
      const error = await rejection(loadSigningKey(path, password))
      expect(error.code).toBe(code as SignatureError['code'])
      expect(error.message).toStartWith(`signing key ${path} ${reason}`)
      expect(error.message).not.toContain('hunter2')
    }
    const missing = await rejection(loadSigningKey(join(dir, 'absent.pem')))
    expect(missing.code).toBe('SIGNING_KEY_UNREADABLE')
    expect(missing.message).toBe(`cannot read signing key ${join(dir, 'absent.pem')}: no such file`)
    const device = await rejection(loadSigningKey('/dev/zero'))
    expect(device.code).toBe('SIGNING_KEY_UNREADABLE')
    expect(device.message).toBe('cannot read signing key /dev/zero: it is a device, not a regular file')
  })
})

describe('keyed signatures', () => {
  test('a legacy signature is the raw signature over the payload, as cosign verifies it', () => {
    for (const kind of ['p256', 'rsa', 'ed25519'] as const) {
      const pair = makeKeyPair(kind)
      const payload = simpleSigningPayload('r/a', DIGEST)
      const signed = signLegacyWithKey(signingKeyFromPem(pair.privatePem), payload)
      expect(Object.keys(signed.annotations)).toEqual([COSIGN_ANNOTATIONS.signature])
      const signature = Buffer.from(signed.annotations[COSIGN_ANNOTATIONS.signature]!, 'base64')
      expect(verify(kind === 'ed25519' ? null : 'sha256', payload, pair.publicKey, signature)).toBe(true)
    }
  })

  test('a keyed bundle is v0.3 with the cosign key hint, a DSSE in-toto statement and no witnesses', async () => {
    const pair = makeKeyPair()
    const bundle = JSON.parse(text(await signBundleWithKey(signingKeyFromPem(pair.privatePem), DIGEST))) as {
      mediaType: string
      verificationMaterial: {publicKey: {hint: string}; tlogEntries?: unknown[]}
      dsseEnvelope: {payloadType: string; payload: string; signatures: Array<{keyid: string}>}
    }
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json')
    expect(bundle.verificationMaterial.publicKey.hint).toBe(keyHint(pair.publicKey))
    // bundleToJSON leaves an empty list out.
    expect(bundle.verificationMaterial.tlogEntries ?? []).toEqual([])
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json')
    expect(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()).toBe(text(imageStatement(DIGEST)))
  })
})

describe('keylessToken', () => {
  const jwt = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJtZSJ9.c2ln'

  test('SYNCER_OIDC_TOKEN comes first', async () => {
    expect(
      await keylessToken({SYNCER_OIDC_TOKEN: ` ${jwt}\n`, ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:1/x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't'}),
    ).toBe(jwt)
  })

  test('in GitHub Actions the id-token endpoint is asked for audience sigstore', async () => {
    const seen: Array<{audience: string | null; other: string | null; authorization: string | null}> = []
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(request) {
        const url = new URL(request.url)
        seen.push({audience: url.searchParams.get('audience'), other: url.searchParams.get('api-version'), authorization: request.headers.get('authorization')})
        if (request.headers.get('authorization') !== 'Bearer request-token') return new Response('no', {status: 403})
        return Response.json({count: 1, value: jwt})
      },
    })
    try {
      const base = `http://127.0.0.1:${server.port}/token?api-version=2.0`
      expect(await keylessToken({ACTIONS_ID_TOKEN_REQUEST_URL: base, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token'})).toBe(jwt)
      expect(seen[0]).toEqual({audience: 'sigstore', other: '2.0', authorization: 'Bearer request-token'})
      const refused = await rejection(keylessToken({ACTIONS_ID_TOKEN_REQUEST_URL: base, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong'}))
      expect(refused.code).toBe('OIDC_TOKEN_FAILED')
      expect(refused.message).toBe('the GitHub Actions OIDC token request failed (HTTP 403)')
    } finally {
      await server.stop(true)
    }
  })

  test('no token source, or a token that is not a JWT, is a clear error', async () => {
    const none = await rejection(keylessToken({}))
    expect(none.code).toBe('OIDC_TOKEN_UNAVAILABLE')
    expect(none.message).toContain('SYNCER_OIDC_TOKEN')
    const notJwt = await rejection(keylessToken({SYNCER_OIDC_TOKEN: 'secret-but-not-a-jwt'}))
    expect(notJwt.message).toBe('SYNCER_OIDC_TOKEN is not a JWT (header.payload.signature)')
  })
})
