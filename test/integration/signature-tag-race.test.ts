/**
 * Carrying a legacy `.sig` tag while another writer creates the same tag at the target with other signatures
 * (issue 7, point 6): the tag is created with `If-None-Match: *`, so where the registry honours it the other
 * writer's signatures are merged with, never replaced.
 */
import {expect, setDefaultTimeout, test} from 'bun:test'
import {CopyEngine} from '../../src/copy/engine.ts'
import {copyArtifacts} from '../../src/signatures/copy.ts'
import {discoverArtifacts, legacyTag} from '../../src/signatures/discover.ts'
import {pushImage} from '../support/images.ts'
import {cleanUpAfterEach, fake} from './apply-helpers.ts'
import {legacyImage, loopbackClient, seedSigned, SIGNATURE_KEY, sigLayer, simpleSigningPayload} from './signature-fixtures.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

test('a .sig tag created by another writer between our look and our PUT is merged with, not overwritten', async () => {
  const source = await fake()
  const target = await fake()
  const client = loopbackClient()
  const from = {registry: source.host, repository: 'acme/signed'}
  const to = {registry: target.host, repository: 'mirror/signed'}
  const seeded = await seedSigned(source.url, from.repository, {api: false, signatures: ['MEUCIQours']})
  await pushImage(target.url, to.repository, seeded.image, 'v1')
  const tag = legacyTag(seeded.image.digest, 'sig')
  const theirs = legacyImage([sigLayer(simpleSigningPayload(to.repository, seeded.image.digest, 'theirs'), 'MEUCIQtheirs')])
  target.addFault({
    name: 'other writer creates the tag',
    method: 'PUT',
    path: `/v2/${to.repository}/manifests/${tag}`,
    action: (_ctx, next) => {
      for (const b of theirs.blobs) target.putBlob(to.repository, b.bytes)
      target.putManifest(to.repository, tag, theirs.bytes, theirs.mediaType)
      return next()
    },
  })
  const artifacts = (await discoverArtifacts(client.repository(from), seeded.image.digest)).filter((a) => a.kind === 'legacy-tag' && a.suffix === 'sig')

  const report = await copyArtifacts(
    new CopyEngine({transfers: 4, pace: testPace()}),
    client.repository(from),
    client.repository(to),
    seeded.image.digest,
    artifacts,
  )

  expect(report).toMatchObject({legacyTags: 0, merged: 1})
  const now = await client.repository(to).getManifest(tag)
  const signatures = now.parsed.kind === 'image' ? now.parsed.manifest.layers.map((l) => l.annotations?.[SIGNATURE_KEY]) : []
  expect(signatures).toStrictEqual(['MEUCIQtheirs', 'MEUCIQours'])
})
