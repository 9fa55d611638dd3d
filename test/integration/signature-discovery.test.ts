/**
 * discoverArtifacts and candidatesOf against the fake registry with and without the referrers API and the real
 * docker-registry 2.8. Without the API the fallback index is the broken kind found in the wild (empty or wrong
 * artifactType, no annotations, a stale entry, an entry about another subject): classification must come from
 * the referrer manifests themselves.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import type {RegistryClient} from '../../src/registry/client.ts'
import type {Repository} from '../../src/registry/handle.ts'
import {candidatesOf, discoverArtifacts, legacyTag} from '../../src/signatures/discover.ts'
import {startFakeRegistry} from '../support/fake-registry/index.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {startRealRegistry} from '../support/real-registry.ts'
import {loopbackClient, type Seeded, seedSigned, SIGNATURE_KEY} from './signature-fixtures.ts'

setDefaultTimeout(20_000)

interface Started {
  url: string
  host: string
  api: boolean
  stop(): Promise<void>
}

const KINDS: [string, () => Promise<Started>][] = [
  ['fake registry with the referrers API', async () => ({...(await startFakeRegistry({referrers: 'api'})), api: true})],
  ['fake registry without the referrers API', async () => ({...(await startFakeRegistry()), api: false})],
  ['real docker-registry 2.8', async () => ({...(await startRealRegistry()), api: false})],
]

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

for (const [kind, start] of KINDS) {
  describe(kind, () => {
    let registry: Started
    let client: RegistryClient
    let seeded: Seeded
    let repo: Repository

    beforeAll(async () => {
      registry = await start()
      client = loopbackClient()
      repo = {registry: registry.host, repository: 'team/app'}
      seeded = await seedSigned(registry.url, repo.repository, {api: registry.api, signatures: ['MEUCIQfirst', 'MEUCIQsecond']})
    })
    afterAll(() => registry?.stop())

    test('finds the legacy tags and the live referrers of this subject, and nothing else', async () => {
      const artifacts = await discoverArtifacts(client.repository(repo), seeded.image.digest)
      const legacy = artifacts.filter((a) => a.kind === 'legacy-tag').map((a) => (a.kind === 'legacy-tag' ? [a.tag, a.suffix, a.manifest.digest] : []))
      expect(legacy).toStrictEqual([
        [legacyTag(seeded.image.digest, 'sig'), 'sig', seeded.sig.digest],
        [legacyTag(seeded.image.digest, 'att'), 'att', seeded.att.digest],
        [legacyTag(seeded.image.digest, 'sbom'), 'sbom', seeded.sbom.digest],
      ])
      const referrers = artifacts
        .filter((a) => a.kind === 'referrer')
        .map((a) => a.manifest.digest)
        .sort()
      // Not the stale entry (manifest deleted), not the entry about another image, not the fallback tag itself.
      expect(referrers).toStrictEqual([seeded.bundle.digest, seeded.oci11.digest, seeded.sbomReferrer.digest].sort())
      for (const artifact of artifacts) expect(artifact.manifest.parsed.kind).toBe('image')
    })

    test('turns signature layers, envelopes and bundles into candidates, by what the manifests say', async () => {
      const artifacts = await discoverArtifacts(client.repository(repo), seeded.image.digest)
      const candidates = await candidatesOf(client.repository(repo), artifacts)
      const sigTag = legacyTag(seeded.image.digest, 'sig')
      const summary = candidates.map((c) => [c.kind, c.source]).sort()
      expect(summary).toStrictEqual(
        [
          ['simple-signing', `tag ${sigTag} layer 0`],
          ['simple-signing', `tag ${sigTag} layer 1`],
          ['dsse-envelope', `tag ${legacyTag(seeded.image.digest, 'att')} layer 0`],
          ['bundle', `referrer ${seeded.bundle.digest}`],
          ['simple-signing', `referrer ${seeded.oci11.digest} layer 0`],
        ].sort(),
      )
      const first = candidates.find((c) => c.source === `tag ${sigTag} layer 0`)
      expect(first?.kind === 'simple-signing' && decode(first.payload)).toBe(decode(seeded.sigLayers[0]!.blob.bytes))
      expect(first?.kind === 'simple-signing' && first.annotations).toStrictEqual({[SIGNATURE_KEY]: 'MEUCIQfirst'})
      const envelope = candidates.find((c) => c.kind === 'dsse-envelope')
      expect(envelope?.kind === 'dsse-envelope' && JSON.parse(decode(envelope.envelope)).payloadType).toBe('application/vnd.in-toto+json')
      expect(envelope?.kind === 'dsse-envelope' && envelope.annotations.predicateType).toBe('https://slsa.dev/provenance/v1')
      const bundle = candidates.find((c) => c.kind === 'bundle')
      expect(bundle?.kind === 'bundle' && JSON.parse(decode(bundle.bundle)).mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json')
    })

    test('an unsigned image has no artifacts and no candidates', async () => {
      const image = makeImage({flavor: 'oci'})
      await pushImage(registry.url, repo.repository, image, 'unsigned')
      const artifacts = await discoverArtifacts(client.repository(repo), image.digest)
      expect(artifacts).toStrictEqual([])
      expect(await candidatesOf(client.repository(repo), artifacts)).toStrictEqual([])
    })
  })
}
