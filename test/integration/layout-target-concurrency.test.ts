/**
 * Two `apply` processes writing the same layout tree at once: two plans copy different tags of the same
 * source repositories, so both processes add tags to the same index.json files (and store the same shared
 * blobs) at the same moment. Every tag of both plans must be there afterwards, pointing at its image.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openLayout} from '../../src/registry/layout/open.ts'
import {type Image, makeImage, pushImage} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {runCli} from './scenario.ts'
import {testPace} from '../support/pace.ts'

setDefaultTimeout(120_000)

const REPOSITORIES = ['acme/one', 'acme/two']
const TAGS = {a: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'], b: ['b1', 'b2', 'b3', 'b4', 'b5', 'b6']}
let source: RealRegistry
let dir: string
const images = new Map<string, Image>()

beforeAll(async () => {
  source = await startRealRegistry()
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-layout-race-'))
  for (const repo of REPOSITORIES) {
    for (const tag of [...TAGS.a, ...TAGS.b]) {
      const image = makeImage({flavor: 'oci', seed: `${repo}:${tag}`, layers: 2})
      images.set(`${repo}:${tag}`, image)
      await pushImage(source.url, repo, image, tag)
    }
  }
  for (const [name, tags] of Object.entries(TAGS)) {
    const entries = REPOSITORIES.flatMap((repo) => tags.map((tag) => `- source: "${repo}:${tag}"`)).join('\n')
    await writeFile(join(dir, `${name}.yaml`), `targetRepoPrefix: "oci:./tree/"\nimages:\n${entries}\n`)
  }
})
afterAll(async () => {
  await source?.stop()
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('two apply processes writing one layout tree', () => {
  test('every tag of both plans is kept', async () => {
    const mirror = ['--mirror', `docker.io=${source.url}`]
    for (const name of Object.keys(TAGS)) {
      const plan = await runCli(['plan', '-i', `${name}.yaml`, '-o', `${name}.plan.json`, ...mirror], {cwd: dir})
      expect(plan.exitCode).toBe(0)
    }
    // Two processes, as the test is about: in-process runs would take turns (test/support/run-command.ts).
    const [a, b] = await Promise.all(
      Object.keys(TAGS).map((name) => runCli(['apply', `${name}.plan.json`, ...mirror, '--format', 'json'], {cwd: dir, process: true})),
    )
    for (const run of [a!, b!]) {
      // On failure, say why: a lost race shows up as an entry's message.
      if (run.exitCode !== 0) console.log(run.stdout, run.stderr)
      expect(run.exitCode).toBe(0)
      expect(JSON.parse(run.stdout).entries.every((e: {result: {kind: string}}) => e.result.kind === 'copied')).toBe(true)
    }
    for (const repo of REPOSITORIES) {
      const layout = await openLayout(join(dir, 'tree', repo), {create: false, pace: testPace()})
      expect(await layout.listTags()).toStrictEqual([...TAGS.a, ...TAGS.b].sort())
      for (const tag of [...TAGS.a, ...TAGS.b]) expect((await layout.headManifest(tag))?.digest).toBe(images.get(`${repo}:${tag}`)!.digest)
    }
  })
})
