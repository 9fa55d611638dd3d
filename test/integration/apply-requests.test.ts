/**
 * What `apply` sends, counted on the registries' side: shared layers mounted rather than uploaded and downloaded
 * once, a refused mount falling back to an upload, nothing at all on a second apply. And what it must never do:
 * act on a plan with conflicts, overwrite a tag that appeared since the plan, or copy what a moved source tag
 * points at now instead of the planned digest (allowed with --allow-moved-sources; by default such an entry fails,
 * see apply-moved-sources.test.ts).
 */
import {describe, expect, setDefaultTimeout, test} from 'bun:test'
import {applyPlan, PlanConflictError, runApply} from '../../src/apply/apply.ts'
import {type FakeRegistry, refuseMount} from '../support/fake-registry/index.ts'
import {type Image, makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {apply, assertTagsComplete, cleanUpAfterEach, clientFor, fake, headTag, kinds, planFor, targetOf} from './apply-helpers.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(30_000)
cleanUpAfterEach()

/** Where the target keeps a source repository: `<prefix><host-port>/<repo>` (see src/ref/target.ts). */
function mirrorRepo(source: FakeRegistry, repo: string): string {
  return `mirror/${source.host.replace(':', '-')}/${repo}`
}

const isMount = (query: string) => new URLSearchParams(query).has('mount')
const blobPuts = (registry: FakeRegistry) => registry.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'))
const writes = (registry: FakeRegistry) => registry.requests.filter((r) => !['GET', 'HEAD'].includes(r.method))

/**
 * Two images that share their first layer (same seed, 1 and 2 layers; their configs differ), in two source
 * repositories, planned into two target repositories.
 */
async function sharedLayer() {
  const source = await fake()
  const target = await fake()
  const a = makeImage({flavor: 'oci', seed: 'shared', layers: 1})
  const b = makeImage({flavor: 'oci', seed: 'shared', layers: 2})
  expect(a.layers[0]!.digest).toBe(b.layers[0]!.digest)
  expect(a.config.digest).not.toBe(b.config.digest)
  await pushImage(source.url, 'acme/a', a, '1')
  await pushImage(source.url, 'acme/b', b, '1')
  const planned = await planFor(source, target, ['acme/a:1', 'acme/b:1'])
  source.clearLog()
  target.clearLog()
  return {source, target, a, b, shared: a.layers[0]!.digest, planned, repos: planned.plan.entries.map((e) => targetOf(e).repository)}
}

const sum = (entries: {blobs: {uploaded: number; mounted: number; present: number}}[], key: 'uploaded' | 'mounted' | 'present') =>
  entries.reduce((n, e) => n + e.blobs[key], 0)

describe('apply moves each blob as little as possible', () => {
  test('a layer shared by two entries is downloaded once and mounted into the second target repository', async () => {
    const {source, target, shared, planned, repos} = await sharedLayer()
    const result = await apply(target, planned, {concurrency: 2})

    expect(kinds(result)).toEqual(['copied', 'copied'])
    const mounts = target.requests.filter((r) => r.method === 'POST' && isMount(r.query))
    expect(mounts.map((r) => r.status)).toEqual([201])
    const query = new URLSearchParams(mounts[0]!.query)
    expect(query.get('mount')).toBe(shared)
    expect(repos).toContain(query.get('from')!)
    // 4 distinct blobs (shared layer, two configs, b's second layer): each uploaded once, none twice.
    expect(blobPuts(target).map((r) => r.status)).toEqual([201, 201, 201, 201])
    expect(source.count('GET', new RegExp(`/blobs/${shared}$`))).toBe(1)
    expect(source.count('GET', /\/blobs\//)).toBe(4)
    expect([sum(result.entries, 'uploaded'), sum(result.entries, 'mounted')]).toEqual([4, 1])
    for (const repo of repos) expect(target.storage.hasBlob(repo, shared)).toBe(true)
    expect(await assertTagsComplete(target)).toBe(2)
  })

  test('no HEAD for a blob mounted from another target repository, nor for an image config', async () => {
    const {target, a, b, shared, planned, repos} = await sharedLayer()
    const result = await apply(target, planned, {concurrency: 1})

    expect(kinds(result)).toEqual(['copied', 'copied'])
    const heads = target.requests.filter((r) => r.method === 'HEAD' && r.path.includes('/blobs/')).map((r) => r.path.split('/blobs/')[1])
    // Only layers are asked for, and the shared one only by the entry that uploaded it: the other mounts it.
    expect(heads.sort()).toEqual([shared, b.layers[1]!.digest].sort())
    expect(heads).not.toContain(a.config.digest)
    expect(heads).not.toContain(b.config.digest)
    for (const repo of repos) expect(target.storage.hasBlob(repo, shared)).toBe(true)
    expect(await assertTagsComplete(target)).toBe(2)
  })

  test('a config the target repository already holds is stored again unchanged, and the entry is copied', async () => {
    const {target, a, planned, repos} = await sharedLayer()
    const repo = repos[planned.plan.entries.findIndex((e) => e.source.includes('acme/a'))]!
    target.putBlob(repo, a.config.bytes)
    const result = await apply(target, planned, {concurrency: 1})

    expect(kinds(result)).toEqual(['copied', 'copied'])
    expect(target.storage.hasBlob(repo, a.config.digest)).toBe(true)
    expect(await assertTagsComplete(target)).toBe(2)
  })

  test('a mount request that errors (403) falls back to a plain upload', async () => {
    const {source, target, shared, planned} = await sharedLayer()
    target.addFault({
      method: 'POST',
      when: (ctx) => new URL(ctx.request.url).searchParams.has('mount'),
      times: Infinity,
      name: 'deny mount',
      action: () =>
        new Response(JSON.stringify({errors: [{code: 'DENIED', message: 'mount denied'}]}), {status: 403, headers: {'content-type': 'application/json'}}),
    })
    const result = await apply(target, planned, {concurrency: 2})
    expect(kinds(result)).toEqual(['copied', 'copied'])
    expect(target.requests.filter((r) => r.method === 'POST' && isMount(r.query)).map((r) => r.status)).toEqual([403])
    expect(source.count('GET', new RegExp(`/blobs/${shared}$`))).toBe(2)
    expect([sum(result.entries, 'uploaded'), sum(result.entries, 'mounted')]).toEqual([5, 0])
    await assertTagsComplete(target)
  })

  test('a refused mount (202) falls back to an upload in the session the registry opened', async () => {
    const {source, target, shared, planned, repos} = await sharedLayer()
    target.addFault(refuseMount({times: Infinity}))
    const result = await apply(target, planned, {concurrency: 2})

    expect(kinds(result)).toEqual(['copied', 'copied'])
    const mounts = target.requests.filter((r) => r.method === 'POST' && isMount(r.query))
    expect(mounts.map((r) => [r.status, r.faults])).toEqual([[202, ['refuse mount']]])
    // The refused mount's session carries the upload: no extra POST, no abandoned session.
    expect(target.count('POST', /\/blobs\/uploads\/$/)).toBe(5)
    expect(blobPuts(target).map((r) => r.status)).toEqual([201, 201, 201, 201, 201])
    expect(target.count('DELETE', /\/blobs\/uploads\//)).toBe(0)
    expect(target.storage.uploads.size).toBe(0)
    // The bytes of the shared layer had to come from the source again.
    expect(source.count('GET', new RegExp(`/blobs/${shared}$`))).toBe(2)
    expect([sum(result.entries, 'uploaded'), sum(result.entries, 'mounted')]).toEqual([5, 0])
    for (const repo of repos) expect(target.storage.hasBlob(repo, shared)).toBe(true)
    expect(await assertTagsComplete(target)).toBe(2)
  })

  test('two tags of one target repository share a layer: it is downloaded and uploaded once', async () => {
    const source = await fake()
    const target = await fake()
    const one = makeImage({flavor: 'docker', seed: 'tags', layers: 1})
    const two = makeImage({flavor: 'docker', seed: 'tags', layers: 2})
    await pushImage(source.url, 'acme/tags', one, '1')
    await pushImage(source.url, 'acme/tags', two, '2')
    const planned = await planFor(source, target, ['acme/tags:1', 'acme/tags:2'])
    source.clearLog()
    target.clearLog()
    const result = await apply(target, planned, {concurrency: 2})

    expect(kinds(result)).toEqual(['copied', 'copied'])
    const shared = one.layers[0]!.digest
    expect(source.count('GET', `/v2/acme/tags/blobs/${shared}`)).toBe(1)
    expect(blobPuts(target).filter((r) => new URLSearchParams(r.query).get('digest') === shared)).toHaveLength(1)
    expect(target.requests.filter((r) => isMount(r.query))).toEqual([])
    expect(await assertTagsComplete(target)).toBe(2)
  })

  test('a second apply of the same plan moves nothing: 0 bytes, every entry already present', async () => {
    const source = await fake()
    const target = await fake()
    const index = makeIndex({
      flavor: 'oci',
      platforms: [
        {os: 'linux', architecture: 'amd64'},
        {os: 'linux', architecture: 'arm64'},
      ],
      attestation: true,
    })
    const single = makeImage({flavor: 'docker'})
    await pushIndex(source.url, 'acme/multi', index, '1')
    await pushImage(source.url, 'acme/single', single, '1')
    const planned = await planFor(source, target, ['acme/multi:1', 'acme/single:1'])

    const first = await apply(target, planned)
    expect(kinds(first)).toEqual(['copied', 'copied'])
    const images: Image[] = [...index.children, single]
    expect(first.summary.bytes).toBe(images.flatMap((i) => [i.config, ...i.layers]).reduce((n, b) => n + b.bytes.byteLength, 0))
    expect(await assertTagsComplete(target)).toBe(2)

    source.clearLog()
    target.clearLog()
    const second = await apply(target, planned)
    expect(kinds(second)).toEqual(['already-present', 'already-present'])
    expect(second.summary).toEqual({copied: 0, alreadyPresent: 2, conflicts: 0, failed: 0, bytes: 0})
    expect(writes(target)).toEqual([])
    expect(source.count('GET', /\/blobs\//)).toBe(0)
  })
})

describe('apply never overwrites and copies exactly what was planned', () => {
  test('a plan with a conflicting-ID entry is refused before anything is written', async () => {
    const source = await fake()
    const target = await fake()
    await pushImage(source.url, 'acme/ok', makeImage({flavor: 'oci'}), '1')
    await pushImage(source.url, 'acme/clash', makeImage({flavor: 'oci'}), '1')
    const theirs = makeImage({flavor: 'oci'})
    await pushImage(target.url, mirrorRepo(source, 'acme/clash'), theirs, '1')
    const planned = await planFor(source, target, ['acme/ok:1', 'acme/clash:1'])
    expect(planned.plan.entries.map((e) => e.action)).toEqual(['to-copy', 'conflicting-ID'])
    target.clearLog()

    const refused = await runApply({planPath: planned.planPath, registry: planned.registryOptions, version: 'test'}).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(PlanConflictError)
    const error = refused as PlanConflictError
    expect(error.code).toBe('PLAN_HAS_CONFLICTS')
    expect(error.conflicts.map((e) => e.target)).toEqual([planned.plan.entries[1]!.target])
    expect(error.message).toContain(planned.plan.entries[1]!.target)
    expect(error.message).toContain(theirs.digest)

    const {client} = await clientFor(target, planned)
    await expect(applyPlan(planned.plan, client, {pace: planned.registryOptions.pace})).rejects.toBeInstanceOf(PlanConflictError)
    expect(writes(target)).toEqual([])
    expect(target.storage.repository(mirrorRepo(source, 'acme/ok'))).toBeUndefined()
    expect(await headTag(target, mirrorRepo(source, 'acme/clash'), '1')).toEqual({status: 200, digest: theirs.digest})
  })

  test('stale plan: a tag that appeared since planning is left untouched and reported as a conflict; the rest is copied', async () => {
    const source = await fake()
    const target = await fake()
    const taken = makeImage({flavor: 'oci'})
    const free = makeImage({flavor: 'oci'})
    await pushImage(source.url, 'acme/taken', taken, '1')
    await pushImage(source.url, 'acme/free', free, '1')
    const planned = await planFor(source, target, ['acme/taken:1', 'acme/free:1'])
    expect(planned.plan.entries.map((e) => e.action)).toEqual(['to-copy', 'to-copy'])
    const [takenTarget, freeTarget] = planned.plan.entries.map(targetOf) as [ReturnType<typeof targetOf>, ReturnType<typeof targetOf>]
    const intruder = makeImage({flavor: 'docker'})
    await pushImage(target.url, takenTarget.repository, intruder, takenTarget.tag)
    target.clearLog()

    const result = await runApply({planPath: planned.planPath, registry: planned.registryOptions, version: 'test'})
    expect(kinds(result)).toEqual(['conflict', 'copied'])
    expect(result.entries[0]!.result).toEqual({kind: 'conflict', targetDigest: intruder.digest})
    expect(result.summary).toMatchObject({copied: 1, conflicts: 1, failed: 0})
    expect(await headTag(target, takenTarget.repository, takenTarget.tag)).toEqual({status: 200, digest: intruder.digest})
    expect(await headTag(target, freeTarget.repository, freeTarget.tag)).toEqual({status: 200, digest: free.digest})
    // Nothing at all was written into the repository whose tag was taken.
    expect(writes(target).filter((r) => r.path.startsWith(`/v2/${takenTarget.repository}/`))).toEqual([])
    expect(await assertTagsComplete(target)).toBe(2)

    // The CLI turns the conflict into exit code 1, and still does not touch the tag.
    const cli = await runCli(['apply', planned.planPath, '--quiet', '--format', 'json'], {env: {DOCKER_CONFIG: planned.dir}})
    expect(cli.exitCode).toBe(1)
    expect(cli.stdout).toContain(intruder.digest)
    expect(await headTag(target, takenTarget.repository, takenTarget.tag)).toEqual({status: 200, digest: intruder.digest})
  })

  test('moved source, with --allow-moved-sources: apply copies the planned digest, not what the source tag points at now', async () => {
    const source = await fake()
    const target = await fake()
    const original = makeIndex({flavor: 'docker', platforms: [{os: 'linux', architecture: 'amd64'}]})
    const moved = makeImage({flavor: 'oci'})
    await pushIndex(source.url, 'acme/moving', original, '1')
    const planned = await planFor(source, target, ['acme/moving:1'])
    const entry = planned.plan.entries[0]!
    expect(entry.sourceDigest).toBe(original.digest)
    await pushImage(source.url, 'acme/moving', moved, '1')
    expect(await headTag(source, 'acme/moving', '1')).toMatchObject({digest: moved.digest})
    source.clearLog()

    const {client} = await clientFor(target, planned)
    const result = await applyPlan(planned.plan, client, {movedSources: 'allow', pace: planned.registryOptions.pace})
    expect(kinds(result)).toEqual(['copied'])
    const {repository, tag} = targetOf(entry)
    expect(await headTag(target, repository, tag)).toEqual({status: 200, digest: entry.sourceDigest})
    // Read by digest only: the moving tag was never asked for, and none of the new image's blobs were copied.
    expect(source.count('*', '/v2/acme/moving/manifests/1')).toBe(0)
    for (const blob of [moved.config, ...moved.layers]) expect(target.storage.hasBlob(repository, blob.digest)).toBe(false)
    expect(await assertTagsComplete(target)).toBe(1)
  })
})

describe('a plan made a moment ago (sync)', () => {
  async function justMade(target: FakeRegistry, planned: Awaited<ReturnType<typeof planFor>>) {
    const {client} = await clientFor(target, planned)
    return applyPlan(planned.plan, client, {planAge: 'just-made', pace: planned.registryOptions.pace})
  }
  const tagHeads = (registry: FakeRegistry, repository: string, tag: string) => registry.count('HEAD', `/v2/${repository}/manifests/${tag}`)

  test('skips the look at the tag before copying: the looks right before and after the tag PUT remain', async () => {
    const {target, planned, repos} = await sharedLayer()
    const result = await justMade(target, planned)
    expect(kinds(result)).toEqual(['copied', 'copied'])
    for (const [i, entry] of planned.plan.entries.entries()) expect(tagHeads(target, repos[i]!, targetOf(entry).tag)).toBe(2)
    expect(await assertTagsComplete(target)).toBe(2)
  })

  test('a tag taken since the plan is still never overwritten: reported as a conflict, theirs kept', async () => {
    const {target, planned, repos} = await sharedLayer()
    const theirs = makeImage({flavor: 'oci', seed: 'theirs', layers: 1})
    const {repository, tag} = targetOf(planned.plan.entries[0]!)
    await pushImage(target.url, repository, theirs, tag)
    const result = await justMade(target, planned)
    expect(kinds(result)).toEqual(['conflict', 'copied'])
    expect((await headTag(target, repository, tag)).digest).toBe(theirs.digest)
    expect(repos[0]).toBe(repository)
  })
})
