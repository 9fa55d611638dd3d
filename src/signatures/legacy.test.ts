import {describe, expect, test} from 'bun:test'
import {thrownBy} from '../../test/support/errors.ts'
import {createHash} from 'node:crypto'
import {BUNDLE_V01_MEDIA_TYPE, bundleFromJSON, bundleToJSON} from '@sigstore/bundle'
import {pem} from '@sigstore/core'
import {
  COSIGN_ANNOTATIONS,
  certificatePem,
  legacyAttestationBundle,
  legacySignatureBundle,
  rekorBundleFromTlogEntry,
  tlogEntryFromRekorBundle,
} from './legacy.ts'
import {SignatureError} from './trust.ts'

const body = Buffer.from(JSON.stringify({apiVersion: '0.0.1', kind: 'hashedrekord', spec: {}}))
const LOG_ID = 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d'
/** A Rekor bundle annotation as cosign writes it (values are placeholders; nothing is verified here). */
const REKOR_BUNDLE = `{"SignedEntryTimestamp":"${Buffer.from('set').toString('base64')}","Payload":{"body":"${body.toString('base64')}","integratedTime":1712651102,"logIndex":84313668,"logID":"${LOG_ID}"}}`

const thrown = (run: () => unknown) => thrownBy(SignatureError, run)

describe('Rekor bundle annotation', () => {
  test('maps onto a tlog entry with an inclusion promise and back, byte for byte', () => {
    const entry = tlogEntryFromRekorBundle(REKOR_BUNDLE)
    expect(entry.logIndex).toBe('84313668')
    expect(entry.integratedTime).toBe('1712651102')
    expect(entry.kindVersion).toEqual({kind: 'hashedrekord', version: '0.0.1'})
    expect(Buffer.from(entry.logId.keyId).toString('hex')).toBe(LOG_ID)
    expect(entry.inclusionPromise?.signedEntryTimestamp.toString()).toBe('set')
    expect(rekorBundleFromTlogEntry(entry)).toBe(REKOR_BUNDLE)
  })

  test('an entry without a SET has no annotation', () => {
    expect(rekorBundleFromTlogEntry({...tlogEntryFromRekorBundle(REKOR_BUNDLE), inclusionPromise: undefined})).toBeNull()
  })

  test.each([
    ['not JSON', '{', 'is not valid JSON'],
    ['no SET', '{"Payload":{}}', 'is not a Rekor bundle'],
    ['a string index', REKOR_BUNDLE.replace('84313668', '"84313668"'), 'malformed Payload'],
    ['a short log id', REKOR_BUNDLE.replace(LOG_ID, 'abcd'), 'malformed logID'],
    ['a body without kind', REKOR_BUNDLE.replace(body.toString('base64'), Buffer.from('{}').toString('base64')), 'has no kind and apiVersion'],
  ])('%s is LEGACY_FORMAT_INVALID', (_name, text, reason) => {
    const error = thrown(() => tlogEntryFromRekorBundle(text))
    expect(error.code).toBe('LEGACY_FORMAT_INVALID')
    expect(error.message).toContain(reason)
  })
})

describe('legacy layers as bundles', () => {
  const certDer = Buffer.from('not really a certificate but DER bytes')
  const payload = new TextEncoder().encode('{"critical":{}}')

  test('a keyless .sig layer is a v0.1 messageSignature bundle that bundleFromJSON accepts', () => {
    const annotations = {
      [COSIGN_ANNOTATIONS.signature]: Buffer.from('sig').toString('base64'),
      [COSIGN_ANNOTATIONS.certificate]: certificatePem(certDer).replaceAll('\n', '\r\n'),
      [COSIGN_ANNOTATIONS.chain]: certificatePem(Buffer.from('intermediate')),
      [COSIGN_ANNOTATIONS.bundle]: REKOR_BUNDLE,
      [COSIGN_ANNOTATIONS.timestamp]: JSON.stringify({SignedRFC3161Timestamp: Buffer.from('tsr').toString('base64')}),
    }
    const bundle = legacySignatureBundle(annotations, payload)
    expect(bundle.mediaType).toBe(BUNDLE_V01_MEDIA_TYPE)
    const material = bundle.verificationMaterial
    // Only the leaf: intermediates come from the trusted root, as sigstore-js requires.
    expect(material.content).toEqual({$case: 'x509CertificateChain', x509CertificateChain: {certificates: [{rawBytes: certDer}]}})
    expect(material.tlogEntries).toHaveLength(1)
    expect(material.timestampVerificationData?.rfc3161Timestamps[0]?.signedTimestamp.toString()).toBe('tsr')
    if (bundle.content.$case !== 'messageSignature') throw new Error('expected a message signature')
    expect(bundle.content.messageSignature.messageDigest.digest).toEqual(createHash('sha256').update(payload).digest())
    expect(bundle.content.messageSignature.signature.toString()).toBe('sig')
    expect(() => bundleFromJSON(bundleToJSON(bundle))).not.toThrow()
  })

  test('a keyed .sig layer has an empty key hint and no witnesses', () => {
    const bundle = legacySignatureBundle({[COSIGN_ANNOTATIONS.signature]: 'c2ln'}, payload)
    expect(bundle.verificationMaterial.content).toEqual({$case: 'publicKey', publicKey: {hint: ''}})
    expect(bundle.verificationMaterial.tlogEntries).toEqual([])
  })

  test('a .att layer keeps its envelope and drops the RFC 3161 token, which covers the envelope, not the signature', () => {
    const envelope = {payloadType: 'application/vnd.in-toto+json', payload: Buffer.from('{}').toString('base64'), signatures: [{keyid: '', sig: 'c2ln'}]}
    const bundle = legacyAttestationBundle(
      {[COSIGN_ANNOTATIONS.signature]: '', [COSIGN_ANNOTATIONS.bundle]: REKOR_BUNDLE, [COSIGN_ANNOTATIONS.timestamp]: '{"SignedRFC3161Timestamp":"dHNy"}'},
      new TextEncoder().encode(JSON.stringify(envelope)),
    )
    expect(bundle.content.$case).toBe('dsseEnvelope')
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1)
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toEqual([])
  })

  test('certificatePem wraps at 64 columns and round-trips', () => {
    const der = Buffer.alloc(100, 7)
    const text = certificatePem(der)
    expect(text.split('\n')[1]).toHaveLength(64)
    expect(pem.toDER(text)).toEqual(der)
  })
})
