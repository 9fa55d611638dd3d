/**
 * Shared set-up of the apply integration tests: per-test fake registries and work directories (cleaned up after
 * each test), planning into a target, a client as `apply` builds it, and `assertTagsComplete`, the invariant
 * every fault test ends with: no target tag points at content the registry does not fully hold.
 */
import {afterEach, expect} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {applyPlan} from '../../src/apply/apply.ts'
import type {ApplyResult} from '../../src/apply/model.ts'
import {MANIFEST_ACCEPT} from '../../src/oci/media-types.ts'
import type {Plan, PlanEntry} from '../../src/plan/model.ts'
import {runPlan} from '../../src/plan/run.ts'
import {parseReference} from '../../src/ref/reference.ts'
import type {RegistryClient} from '../../src/registry/client.ts'
import {connectRegistries} from '../../src/registry/connect.ts'
import type {RequestEvent} from '../../src/transport/transport.ts'
import {type FakeRegistry, type FakeRegistryOptions, startFakeRegistry} from '../support/fake-registry/index.ts'
import {type TestPace, testPace} from '../support/pace.ts'

const cleanups: Array<() => Promise<void>> = []

/** Call once at the top of a test file: stops the registries and removes the directories of each test. */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()))
  })
}

export async function fake(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const registry = await startFakeRegistry(options)
  cleanups.push(() => registry.stop())
  return registry
}

/** A temporary directory with an empty docker config, removed after the test. */
export async function workdir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-apply-'))
  cleanups.push(() => rm(dir, {recursive: true, force: true}))
  await writeFile(join(dir, 'config.json'), '{}')
  return dir
}

export interface Planned {
  plan: Plan
  planPath: string
  dir: string
  /** The connection options planning used; their pace waits for nothing (apply() gets a pace of its own). */
  registryOptions: {insecureRegistries: string[]; mirrors: Record<string, string>; env: Record<string, string | undefined>; pace: TestPace}
}

/** Plans `sources` (`repo:tag` on `source`) into `target` under `mirror/`; the plan must classify every entry. */
export async function planFor(source: FakeRegistry, target: FakeRegistry, sources: string[]): Promise<Planned> {
  const dir = await workdir()
  const definitionPath = join(dir, 'images.yaml')
  await writeFile(definitionPath, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${sources.map((s) => `- source: "${source.host}/${s}"`).join('\n')}\n`)
  const registryOptions = {insecureRegistries: [], mirrors: {}, env: {DOCKER_CONFIG: dir}, pace: testPace()}
  const planPath = join(dir, 'out.plan.json')
  const outcome = await runPlan({definitionPath, outputPath: planPath, registry: registryOptions, tool: {name: 'image-syncer', version: 'test'}})
  if (outcome.kind !== 'planned') throw new Error(`plan failed: ${JSON.stringify(outcome.failures)}`)
  return {plan: outcome.plan, planPath, dir, registryOptions}
}

/** A client as `apply` connects it, recording the client-side request events (on the planning pace unless given one). */
export async function clientFor(
  target: FakeRegistry,
  planned: Planned,
  extra: {timeoutMs?: number; pace?: TestPace} = {},
): Promise<{client: RegistryClient; events: RequestEvent[]}> {
  const events: RequestEvent[] = []
  const client = await connectRegistries({...planned.registryOptions, targetRegistry: target.host, onRequest: (e) => events.push(e), ...extra}, 'test')
  return {client, events}
}

/** Applies the plan once with a fresh client, on a fresh pace: `pace.sleeps` are the waits of this apply alone. */
export async function apply(
  target: FakeRegistry,
  planned: Planned,
  options: {concurrency?: number; timeoutMs?: number} = {},
): Promise<ApplyResult & {events: RequestEvent[]; pace: TestPace}> {
  const pace = testPace()
  const {client, events} = await clientFor(target, planned, {pace, ...(options.timeoutMs !== undefined ? {timeoutMs: options.timeoutMs} : {})})
  const result = await applyPlan(planned.plan, client, {pace, ...(options.concurrency !== undefined ? {concurrency: options.concurrency} : {})})
  return {...result, events, pace}
}

/** The repository and tag of a plan entry's target, as the target registry names them. */
export function targetOf(entry: PlanEntry): {repository: string; tag: string} {
  const ref = parseReference(entry.target)
  return {repository: ref.repository, tag: ref.tag!}
}

/** `repo` on `registry` by HTTP, with no client of ours in between. */
export async function headTag(registry: FakeRegistry, repository: string, reference: string): Promise<{status: number; digest: string | null}> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {method: 'HEAD', headers: {accept: MANIFEST_ACCEPT}})
  return {status: response.status, digest: response.headers.get('docker-content-digest')}
}

/** Every result kind, in plan order. */
export function kinds(result: ApplyResult): string[] {
  return result.entries.map((e) => e.result.kind)
}

interface ManifestJson {
  config?: {digest: string}
  layers?: {digest: string}[]
  manifests?: {digest: string}[]
}

/**
 * Lists every repository (`/v2/_catalog`) and its tags (`tags/list`) over plain HTTP, GETs each tagged manifest
 * and checks that everything it references, down to the last layer of every child, exists in that repository.
 * Returns how many tags were checked.
 */
export async function assertTagsComplete(registry: FakeRegistry): Promise<number> {
  const catalog = (await (await fetch(`${registry.url}/v2/_catalog`)).json()) as {repositories: string[]}
  let checked = 0
  for (const repository of catalog.repositories) {
    const listing = await fetch(`${registry.url}/v2/${repository}/tags/list`)
    const {tags} = (await listing.json()) as {tags: string[]}
    for (const tag of tags) {
      await assertManifestComplete(registry, repository, tag, `${repository}:${tag}`)
      checked++
    }
  }
  return checked
}

async function assertManifestComplete(registry: FakeRegistry, repository: string, reference: string, tagged: string): Promise<void> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {headers: {accept: MANIFEST_ACCEPT}})
  expect({tagged, reference, status: response.status}).toEqual({tagged, reference, status: 200})
  const manifest = (await response.json()) as ManifestJson
  for (const child of manifest.manifests ?? []) await assertManifestComplete(registry, repository, child.digest, tagged)
  const blobs = [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]
  for (const blob of blobs) {
    const head = await fetch(`${registry.url}/v2/${repository}/blobs/${blob.digest}`, {method: 'HEAD'})
    expect({tagged, blob: blob.digest, status: head.status}).toEqual({tagged, blob: blob.digest, status: 200})
  }
}
