/**
 * Issue 15, item 2: a definition that mirrors an image together with its own referrers fallback tag
 * (`sha256-<hex>`, an index listing the image's referrer). Two entries then need the referrer at the target: the
 * image's signature carrying (which PUTs it as a referrer) and the fallback tag's index (which lists it as a
 * child). Each referrer must be written once, and before any index that lists it.
 *
 * The source is an OCI layout as regclient writes one (`regctl image copy ... ocidir://`): the image tagged, the
 * referrer stored, and the fallback index tagged `sha256-<hex>`. We build that layout here with our own test
 * helpers (test/support/layout.ts and the layout store), not with regclient, which is not installed. Its fallback
 * index has the bytes image-syncer's own fallback writer produces for that referrer (registry/remote/fallback-index.ts), so
 * the two entries agree on the tag and the test is about the order of writes alone.
 *
 * The target behaves like distribution 2.8 (no referrers API) with the referrer's PUT slowed down
 * (slowManifestPut): while a PUT of it is under way, the registry cannot read it, as distribution cannot while it
 * rewrites the link file. A second writer of the referrer, or an index PUT that does not wait for it, then fails
 * every time with `DIGEST_INVALID; MANIFEST_BLOB_UNKNOWN`, where docker-registry failed about one run in two.
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {applyPlan} from '../../src/apply/apply.ts'
import {MediaType} from '../../src/oci/media-types.ts'
import {runPlan} from '../../src/plan/run.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {connectStores} from '../../src/registry/connect.ts'
import {fallbackTag} from '../../src/registry/remote/fallback-index.ts'
import {slowManifestPut} from '../support/fake-registry/index.ts'
import {getManifest, makeImage} from '../support/images.ts'
import {makeReferrer, storeArtifact, storeImage} from '../support/layout.ts'
import {assertTagsComplete, cleanUpAfterEach, fake, workdir} from './apply-helpers.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(60_000)
cleanUpAfterEach()

/**
 * The first PUT of the referrer takes 1 s, long against the milliseconds both entries take to reach it, so a
 * second writer always starts during it; a second PUT takes 3 s, so it is still under way when the first
 * writer goes on to the index that lists the referrer.
 */
const REFERRER_PUTS_MS = [1_000, 3_000]

describe('an image mirrored with its own referrers fallback tag', () => {
  test("the referrer is PUT once, before the fallback index and the image's fallback entry that list it", async () => {
    const dir = await workdir()
    const layout = await openLayout(join(dir, 'layouts/acme/app'), {create: true, pace: testPace()})
    const image = makeImage({flavor: 'oci', seed: 'fallback-race'})
    await storeImage(layout, image, 'v1')
    const referrer = makeReferrer(image, 'sbom')
    await storeArtifact(layout, referrer)
    const fallback = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          {
            mediaType: referrer.mediaType,
            digest: referrer.digest,
            size: referrer.bytes.length,
            artifactType: 'application/spdx+json',
            annotations: {'org.example.seed': 'sbom'},
          },
        ],
      }),
    )
    const tag = fallbackTag(image.digest)
    await layout.putManifest(tag, {bytes: fallback, mediaType: MediaType.OciIndex, digest: sha256Digest(fallback)})

    const target = await fake()
    const definitionPath = join(dir, 'images.yaml')
    await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n- source: "acme/app:v1"\n- source: "acme/app:${tag}"\n`)
    const registryOptions = {insecureRegistries: [], mirrors: {'docker.io': `oci:${join(dir, 'layouts')}/`}, env: {DOCKER_CONFIG: dir}, pace: testPace()}
    const planPath = join(dir, 'out.plan.json')
    const outcome = await runPlan({definitionPath, outputPath: planPath, registry: registryOptions, tool: {name: 'image-syncer', version: 'test'}})
    if (outcome.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(outcome.failures)}`)
    expect(outcome.plan.entries.map((e) => e.action)).toEqual(['to-copy', 'to-copy'])
    target.addFault(slowManifestPut(referrer.digest, REFERRER_PUTS_MS))

    // As `apply` connects: the layout mirror is a source store, the fake registry the target.
    const stores = await connectStores({...registryOptions, targetRepoPrefix: outcome.plan.targetRepoPrefix}, 'test')
    const result = await applyPlan(outcome.plan, stores, {pace: registryOptions.pace})

    const failures = result.entries.filter((e) => e.result.kind === 'failed')
    expect(failures.map((e) => e.result)).toEqual([])
    expect(result.entries[0]!.result).toEqual({kind: 'copied'})
    // The fallback tag's entry and the image's own fallback entry write the same bytes (see above): whichever
    // lands first, the other finds the tag holding the planned digest.
    expect(['copied', 'already-present']).toContain(result.entries[1]!.result.kind)
    const repository = 'mirror/acme/app'
    expect(target.count('PUT', `/v2/${repository}/manifests/${referrer.digest}`)).toBe(1)
    expect(target.requests.filter((r) => r.method === 'PUT' && r.status === 400)).toEqual([])
    const listed = await getManifest(target.url, repository, tag)
    expect(listed.digest).toBe(sha256Digest(fallback))
    expect(JSON.parse(new TextDecoder().decode(listed.bytes)).manifests.map((d: {digest: string}) => d.digest)).toEqual([referrer.digest])
    await assertTagsComplete(target)
  })
})
