/**
 * `apply --shard i/4` as four worker processes at once against one target (issue 11, "Many machines"): together
 * they do what one apply does, each entry in exactly one result file, and no shard uploads a blob twice (its
 * target repositories share every blob, so all but the first upload of each are cross-repository mounts).
 */
import {describe, expect, test} from 'bun:test'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {EntryOutcome} from '../../src/apply/model.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {apply, cleanUpAfterEach, fake, planFor} from './apply-helpers.ts'
import {runCli} from './scenario.ts'

cleanUpAfterEach()

const REPOSITORIES = 40
const TAGS = 5
const SHARDS = 4

/** `registry/repo:tag` → `repo:tag`: the same entry in two targets. */
const withoutHost = (target: string) => target.slice(target.indexOf('/') + 1)

describe('apply sharded over four processes', () => {
  test('the union of the shards is one apply, each entry once, no blob uploaded twice by a shard', async () => {
    const source = await fake()
    const target = await fake()
    // Five images, each in all forty repositories: every blob is shared across the target repositories.
    const images = Array.from({length: TAGS}, (_, t) => makeImage({flavor: 'oci', seed: `shard-test-${t}`, layers: 2, layerSize: 256}))
    const sources: string[] = []
    for (let r = 0; r < REPOSITORIES; r++) {
      for (const [t, image] of images.entries()) {
        await pushImage(source.url, `src/r${r}`, image, `t${t}`)
        sources.push(`src/r${r}:t${t}`)
      }
    }
    const planned = await planFor(source, target, sources)
    expect(planned.plan.summary.toCopy).toBe(REPOSITORIES * TAGS)
    target.clearLog()

    // The shards run at once, each its own process, as the workers of an indexed job do.
    const runs = await Promise.all(
      Array.from({length: SHARDS}, (_, i) =>
        runCli(
          ['apply', planned.planPath, '--shard', `${i + 1}/${SHARDS}`, '--result', join(planned.dir, `result-${i + 1}.json`), '--quiet', '--format', 'json'],
          {env: {DOCKER_CONFIG: planned.dir}, process: true},
        ),
      ),
    )
    for (const run of runs) expect({exitCode: run.exitCode, stderr: run.stderr}).toEqual({exitCode: 0, stderr: ''})
    const shards = await Promise.all(
      Array.from({length: SHARDS}, async (_, i) => JSON.parse(await readFile(join(planned.dir, `result-${i + 1}.json`), 'utf8')) as {entries: EntryOutcome[]}),
    )

    // Each entry in exactly one shard, and the shards' outcomes are those of one apply of the same plan elsewhere.
    const union = shards.flatMap((s) => s.entries.map((e) => `${withoutHost(e.target)} ${e.sourceDigest} ${e.result.kind}`)).sort()
    expect(new Set(union).size).toBe(union.length)
    const elsewhere = await fake()
    const single = await apply(elsewhere, await planFor(source, elsewhere, sources))
    expect(union).toEqual(single.entries.map((e) => `${withoutHost(e.target)} ${e.sourceDigest} ${e.result.kind}`).sort())
    expect(new Set(union.map((line) => line.split(' ')[2]))).toEqual(new Set(['copied']))

    // Blob uploads (a PUT ?digest=) per shard: a shard owns whole repositories, so the repository names the shard.
    const shardOf = new Map(shards.flatMap((s, i) => s.entries.map((e) => [withoutHost(e.target).split(':')[0]!, i] as const)))
    const uploads = new Map<string, number>()
    for (const request of target.requests) {
      const repository = /^\/v2\/(.+)\/blobs\/uploads\//.exec(request.path)?.[1]
      const digest = new URLSearchParams(request.query).get('digest')
      if (request.method !== 'PUT' || !repository || !digest) continue
      const key = `shard ${shardOf.get(repository)} ${digest}`
      uploads.set(key, (uploads.get(key) ?? 0) + 1)
    }
    expect([...uploads].filter(([, n]) => n > 1)).toEqual([])
    // Every shard uploaded the shared blobs once (3 per image) and mounted them everywhere else.
    expect(uploads.size).toBe(SHARDS * TAGS * 3)
    const mounted = shards.flatMap((s) => s.entries).reduce((sum, e) => sum + e.blobs.mounted, 0)
    expect(mounted).toBeGreaterThan(0)

    // report checks them against the plan and merges them: all copied, exit 0; without shard 4 it names it and fails.
    const files = Array.from({length: SHARDS}, (_, i) => join(planned.dir, `result-${i + 1}.json`))
    const report = await runCli(['report', '--plan', planned.planPath, ...files, '--format', 'json'])
    expect({exitCode: report.exitCode, stderr: report.stderr}).toEqual({exitCode: 0, stderr: ''})
    expect(JSON.parse(report.stdout).summary.copied).toBe(REPOSITORIES * TAGS)
    const partial = await runCli(['report', '--plan', planned.planPath, ...files.slice(0, 3)])
    expect({exitCode: partial.exitCode, line: partial.stdout.trim().split('\n').at(-1)}).toEqual({
      exitCode: 1,
      line: `Missing shard 4/${SHARDS}: no result file, so their entries are not in this report (run them again). ${shards[3]!.entries.length} entries of the plan have no outcome.`,
    })

    // Issue 16: a shard 4 that drops one of its entries, or carries shard 3's, is refused by name; without --plan
    // report refuses to vouch at all unless told --unchecked.
    const forged = join(planned.dir, 'forged-4.json')
    const original = JSON.parse(await readFile(files[3]!, 'utf8'))
    const dropped = original.entries[0].target
    await writeFile(forged, JSON.stringify({...original, entries: original.entries.slice(1)}))
    const short = await runCli(['report', '--plan', planned.planPath, ...files.slice(0, 3), forged])
    expect(short.exitCode).toBe(1)
    expect(short.stderr).toContain(
      `${forged} (shard 4/4) has no outcome for 1 of the ${original.entries.length} targets its shard owns ("${dropped}"), yet says it finished`,
    )
    await writeFile(forged, JSON.stringify({...original, entries: [...original.entries, shards[2]!.entries[0]]}))
    const stolen = await runCli(['report', '--plan', planned.planPath, ...files.slice(0, 3), forged])
    expect({exitCode: stolen.exitCode, duplicate: stolen.stderr.includes(`has a second outcome for "${shards[2]!.entries[0]!.target}"`)}).toEqual({
      exitCode: 1,
      duplicate: true,
    })
    const unplanned = await runCli(['report', ...files])
    expect({exitCode: unplanned.exitCode, stderr: unplanned.stderr.trim()}).toEqual({
      exitCode: 1,
      stderr:
        'Error: report needs --plan PLAN, the plan file the workers applied, to check that every entry of it is accounted for (or --unchecked to merge the result files without it)',
    })
    const unchecked = await runCli(['report', '--unchecked', ...files])
    expect({exitCode: unchecked.exitCode, line: unchecked.stdout.trim().split('\n').at(-1)}).toEqual({
      exitCode: 0,
      line: `All ${SHARDS} shards reported. Not checked against the plan (--unchecked).`,
    })
  })
})
