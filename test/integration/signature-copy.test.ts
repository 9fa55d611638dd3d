/**
 * copyArtifacts, appendLegacySignature and pushReferrer between registries with and without the referrers API,
 * and between two repositories of the real docker-registry 2.8. Each test gets fresh repositories; the subject
 * image is pushed to the target first, as the caller guarantees.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {CopyEngine} from '../../src/copy/engine.ts'
import type {Digest} from '../../src/ref/digest.ts'
import type {RegistryClient} from '../../src/registry/client.ts'
import type {Repository} from '../../src/registry/handle.ts'
import {readFallbackIndex} from '../../src/registry/remote/fallback-index.ts'
import {appendLegacySignature, copyArtifacts, pushReferrer} from '../../src/signatures/copy.ts'
import {candidatesOf, discoverArtifacts, legacyTag} from '../../src/signatures/discover.ts'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {getManifest, pushImage} from '../support/images.ts'
import {startRealRegistry} from '../support/real-registry.ts'
import {testPace} from '../support/pace.ts'
import {
  blob,
  bundleReferrer,
  cosignConfig,
  descriptorOf,
  fallbackIndex,
  fallbackTagOf,
  legacyImage,
  loopbackClient,
  push,
  SIGNATURE_KEY,
  sigLayer,
  seedSigned,
  simpleSigningPayload,
} from './signature-fixtures.ts'

setDefaultTimeout(30_000)

interface Side {
  url: string
  host: string
  api: boolean
  fake: FakeRegistry | null
}

interface Pair {
  source: Side
  target: Side
  stop(): Promise<void>
}

const fakeSide = async (api: boolean): Promise<Side & {stop(): Promise<void>}> => {
  const fake = await startFakeRegistry(api ? {referrers: 'api'} : {})
  return {url: fake.url, host: fake.host, api, fake, stop: () => fake.stop()}
}

const PAIRS: [string, () => Promise<Pair>][] = [
  [
    'fake without API → fake with API',
    async () => {
      const [source, target] = await Promise.all([fakeSide(false), fakeSide(true)])
      return {source, target, stop: async () => void (await Promise.all([source.stop(), target.stop()]))}
    },
  ],
  [
    'fake with API → fake without API',
    async () => {
      const [source, target] = await Promise.all([fakeSide(true), fakeSide(false)])
      return {source, target, stop: async () => void (await Promise.all([source.stop(), target.stop()]))}
    },
  ],
  [
    'real docker-registry 2.8 → itself, other repository',
    async () => {
      const real = await startRealRegistry()
      const side = {url: real.url, host: real.host, api: false, fake: null}
      return {source: side, target: side, stop: () => real.stop()}
    },
  ],
]

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

for (const [name, start] of PAIRS) {
  describe(name, () => {
    let pair: Pair
    let client: RegistryClient
    let seq = 0

    beforeAll(async () => {
      pair = await start()
    })
    afterAll(() => pair?.stop())

    /** A signed image at the source, the image alone at the target, and a fresh client and blob copier. */
    const scenario = async (signatures = ['MEUCIQsource']) => {
      seq++
      client = loopbackClient()
      const from: Repository = {registry: pair.source.host, repository: `src/app${seq}`}
      const to: Repository = {registry: pair.target.host, repository: `dst/app${seq}`}
      const seeded = await seedSigned(pair.source.url, from.repository, {api: pair.source.api, signatures})
      await pushImage(pair.target.url, to.repository, seeded.image, 'v1')
      const artifacts = await discoverArtifacts(client.repository(from), seeded.image.digest)
      const copy = () =>
        copyArtifacts(new CopyEngine({transfers: 4, pace: testPace()}), client.repository(from), client.repository(to), seeded.image.digest, artifacts)
      return {from, to, seeded, artifacts, copy, subject: seeded.image.digest}
    }

    test('legacy tags arrive byte for byte, referrers by digest, findable at the target', async () => {
      const {to, seeded, copy, subject} = await scenario()
      const report = await copy()
      expect(report).toStrictEqual({legacyTags: 3, referrers: 3, merged: 0, fallbackEntries: pair.target.api ? 0 : 3})
      for (const [suffix, built] of [
        ['sig', seeded.sig],
        ['att', seeded.att],
        ['sbom', seeded.sbom],
      ] as const) {
        const got = await getManifest(pair.target.url, to.repository, legacyTag(subject, suffix))
        expect([got.digest, got.bytes]).toStrictEqual([built.digest, built.bytes])
      }
      for (const referrer of [seeded.bundle, seeded.oci11, seeded.sbomReferrer]) {
        expect((await getManifest(pair.target.url, to.repository, referrer.digest)).bytes).toStrictEqual(referrer.bytes)
      }
      const listed = await client.repository(to).listReferrers(subject)
      expect(listed.api).toBe(pair.target.api ? 'supported' : 'unsupported')
      expect(listed.descriptors.map((d) => d.digest).sort()).toStrictEqual([seeded.bundle.digest, seeded.oci11.digest, seeded.sbomReferrer.digest].sort())
      // The target's own copy is as verifiable as the source: same candidates.
      const there = await candidatesOf(client.repository(to), await discoverArtifacts(client.repository(to), subject))
      expect(there.map((c) => c.kind).sort()).toStrictEqual(['bundle', 'dsse-envelope', 'simple-signing', 'simple-signing'])
    })

    test('the target fallback index is rebuilt, not copied: its own entries stay, stale source entries do not come', async () => {
      const {to, seeded, copy, subject} = await scenario()
      // Pushed at the target by someone else (another tool, an earlier signer), with its own fallback entry.
      const existing = bundleReferrer(seeded.image, `target-own-${seq}`)
      await push(pair.target.url, to.repository, existing)
      if (!pair.target.api)
        await push(
          pair.target.url,
          to.repository,
          fallbackIndex([descriptorOf(existing, {artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json'})]),
          fallbackTagOf(subject),
        )
      await copy()
      const index = await readFallbackIndex(client.repository(to), subject)
      if (pair.target.api) {
        expect(index).toBeNull()
        return
      }
      const digests = index?.index.manifests.map((d) => d.digest) ?? []
      expect(digests[0]).toBe(existing.digest)
      expect(digests.slice(1).sort()).toStrictEqual([seeded.bundle.digest, seeded.oci11.digest, seeded.sbomReferrer.digest].sort())
      expect(digests).not.toContain(seeded.stale.digest)
      const bundleEntry = index?.index.manifests.find((d) => d.digest === seeded.bundle.digest)
      // Rebuilt from the manifest, so the metadata the source's broken index lacked is there.
      expect(bundleEntry?.artifactType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json')
      expect(bundleEntry?.annotations?.['dev.sigstore.bundle.predicateType']).toBe('https://sigstore.dev/cosign/sign/v1')
    })

    test('a target .sig with other signatures is merged: both kept, config rebuilt as cosign does', async () => {
      const {to, seeded, copy, subject} = await scenario()
      const theirs = sigLayer(simpleSigningPayload(to.repository, subject, 'target-side'), 'MEUCIQtarget')
      // Same payload as the source's, signed by someone else: a distinct signature, kept too.
      const sameBlob = sigLayer(seeded.sigLayers[0]!.blob, 'MEUCIQother-key')
      const targetSig = legacyImage([theirs, sameBlob])
      await push(pair.target.url, to.repository, targetSig, legacyTag(subject, 'sig'))
      const report = await copy()
      expect(report.merged).toBe(1)
      expect(report.legacyTags).toBe(2)
      const merged = await client.repository(to).getManifest(legacyTag(subject, 'sig'))
      if (merged.parsed.kind !== 'image') throw new Error('expected an image manifest')
      const layers = merged.parsed.manifest.layers
      expect(layers.map((l) => [l.digest, l.annotations?.[SIGNATURE_KEY]])).toStrictEqual([
        [theirs.blob.digest, 'MEUCIQtarget'],
        [sameBlob.blob.digest, 'MEUCIQother-key'],
        [seeded.sigLayers[0]!.blob.digest, 'MEUCIQsource'],
      ])
      const config = await client.repository(to).getSmallBlob(merged.parsed.manifest.config.digest as Digest, 1 << 20)
      expect(decode(config)).toBe(decode(cosignConfig(layers.map((l) => l.digest)).bytes))
      const candidates = await candidatesOf(client.repository(to), await discoverArtifacts(client.repository(to), subject))
      expect(candidates.filter((c) => c.source.includes('.sig')).length).toBe(3)
    })

    test('a second copy writes nothing, also after a merge', async () => {
      const {to, copy, subject} = await scenario()
      await push(
        pair.target.url,
        to.repository,
        legacyImage([sigLayer(simpleSigningPayload(to.repository, subject, 'x'), 'MEUCIQx')]),
        legacyTag(subject, 'sig'),
      )
      await copy()
      const before = await getManifest(pair.target.url, to.repository, legacyTag(subject, 'sig'))
      pair.target.fake?.clearLog()
      expect(await copy()).toStrictEqual({legacyTags: 0, referrers: 0, merged: 0, fallbackEntries: 0})
      if (pair.target.fake) {
        const writes = pair.target.fake.requests.filter((r) => ['PUT', 'POST', 'PATCH', 'DELETE'].includes(r.method))
        expect(writes).toStrictEqual([])
      }
      expect((await getManifest(pair.target.url, to.repository, legacyTag(subject, 'sig'))).digest).toBe(before.digest)
    })

    test('a referrer already at the target without its fallback entry (a run stopped after the PUT) gets it', async () => {
      const {to, seeded, copy, subject} = await scenario()
      // The state such a run leaves: the referrers stored at the target (pushed raw, so nothing recorded them).
      for (const referrer of [seeded.bundle, seeded.oci11, seeded.sbomReferrer]) await push(pair.target.url, to.repository, referrer)
      pair.target.fake?.clearLog()
      const report = await copy()
      expect([report.referrers, report.fallbackEntries]).toStrictEqual([0, pair.target.api ? 0 : 3])
      const listed = await client.repository(to).listReferrers(subject)
      expect(listed.descriptors.map((d) => d.digest).sort()).toStrictEqual([seeded.bundle.digest, seeded.oci11.digest, seeded.sbomReferrer.digest].sort())
      if (pair.target.fake) {
        // The repair is a second PUT of the same bytes, whose put writes the entry; a registry that lists them gets none.
        const again = pair.target.fake.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/manifests/${seeded.bundle.digest}`))
        expect(again.length).toBe(pair.target.api ? 0 : 1)
      }
    })

    test('the signer appends legacy signatures idempotently and pushes bundle referrers', async () => {
      const {to, seeded, subject} = await scenario()
      const tag = legacyTag(subject, 'sig')
      await fetch(`${pair.target.url}/v2/${to.repository}/manifests/${tag}`, {method: 'DELETE'}).then((r) => r.arrayBuffer())
      const payload = simpleSigningPayload(to.repository, subject, 'signer')
      const layer = {payload: payload.bytes, annotations: {[SIGNATURE_KEY]: 'MEUCIQsigner'}, mediaType: payload.mediaType}
      expect(await appendLegacySignature(client.repository(to), subject, layer)).toBe('appended')
      const fresh = await client.repository(to).getManifest(tag)
      if (fresh.parsed.kind !== 'image') throw new Error('expected an image manifest')
      // A fresh tag is exactly cosign's empty image plus one layer: the 233-byte config.
      expect(fresh.parsed.manifest.config.size).toBe(233)
      expect(await appendLegacySignature(client.repository(to), subject, layer)).toBe('already-present')
      expect(await appendLegacySignature(client.repository(to), subject, {...layer, annotations: {[SIGNATURE_KEY]: 'MEUCIQsecond'}})).toBe('appended')
      const two = await client.repository(to).getManifest(tag)
      expect(two.parsed.kind === 'image' && two.parsed.manifest.layers.length).toBe(2)

      const bundle = bundleReferrer(seeded.image, `signed-at-target-${seq}`)
      const pushed = await pushReferrer(
        client.repository(to),
        bundle.bytes,
        bundle.blobs.map((b) => b.bytes),
      )
      expect(pushed).toStrictEqual({digest: bundle.digest, referrer: pair.target.api ? 'indexed' : 'added'})
      expect((await client.repository(to).listReferrers(subject)).descriptors.map((d) => d.digest)).toContain(bundle.digest)
      expect((await pushReferrer(client.repository(to), bundle.bytes, [])).referrer).toBe(pair.target.api ? 'indexed' : 'present')
    })
  })
}

describe('merging while another writer changes the tag', () => {
  test("a 412 makes the merge read the tag again; nobody's signature is lost", async () => {
    const target = await startFakeRegistry()
    try {
      const client = loopbackClient()
      const repo = {registry: target.host, repository: 'race'}
      const seeded = await seedSigned(target.url, 'race', {api: false})
      const tag = legacyTag(seeded.image.digest, 'sig')
      const late = sigLayer(simpleSigningPayload('race', seeded.image.digest, 'late'), 'MEUCIQlate')
      target.putBlob('race', late.blob.bytes)
      target.addFault({
        method: 'PUT',
        path: `/v2/race/manifests/${tag}`,
        action: (_ctx, next) => {
          const both = legacyImage([...seeded.sigLayers, late])
          for (const b of both.blobs) target.putBlob('race', b.bytes)
          target.putManifest('race', tag, both.bytes, both.mediaType)
          return next()
        },
      })
      const mine = {
        payload: blob('{"mine":1}', 'application/vnd.dev.cosign.simplesigning.v1+json').bytes,
        annotations: {[SIGNATURE_KEY]: 'MEUCIQmine'},
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      }
      expect(await appendLegacySignature(client.repository(repo), seeded.image.digest, mine)).toBe('appended')
      const result = await client.repository(repo).getManifest(tag)
      const signatures = result.parsed.kind === 'image' ? result.parsed.manifest.layers.map((l) => l.annotations?.[SIGNATURE_KEY]) : []
      expect(signatures).toStrictEqual(['MEUCIQsig1', 'MEUCIQlate', 'MEUCIQmine'])
    } finally {
      await target.stop()
    }
  })
})
