/**
 * The plan file travels through a pull request; apply must execute only what was reviewed (issue 7, point 5).
 * Through the CLI against real docker-registry processes: tampered plans are refused with one sentence and
 * nothing reaches the target; target-only credentials go only to the registry named at apply time (the
 * in-process registry records which Authorization scheme reached it); `--definition` ties the plan to the
 * reviewed definition file.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Plan} from '../../src/plan/model.ts'
import {startFakeRegistry} from '../support/fake-registry/index.ts'
import {type Image, type Index, makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(60_000)

let source: RealRegistry
let target: RealRegistry
let dir: string
let app: Index
let other: Image
/** Where sources land under the target prefix: `<prefix>127.0.0.1-PORT/…`. */
let mirrored: string

beforeAll(async () => {
  ;[source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-binding-'))
  app = makeIndex({
    flavor: 'oci',
    platforms: [
      {os: 'linux', architecture: 'amd64'},
      {os: 'linux', architecture: 'arm64'},
    ],
  })
  other = makeImage({flavor: 'oci'})
  await Promise.all([pushIndex(source.url, 'acme/app', app, '1.0'), pushImage(source.url, 'acme/other', other, '1.0')])
  mirrored = `mirror/${source.host.replace(':', '-')}`
})
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()])
  await rm(dir, {recursive: true, force: true})
})

const prefix = () => `${target.host}/mirror/`

/** Writes a definition under the target prefix, plans it and returns both paths and the plan. */
async function planned(name: string, images: string[]): Promise<{definition: string; planPath: string; plan: Plan}> {
  const definition = join(dir, `${name}.yaml`)
  await writeFile(definition, `targetRepoPrefix: "${prefix()}"\nimages:\n${images.join('\n')}\n`)
  const planPath = join(dir, `${name}.plan.json`)
  const run = await runCli(['plan', '-i', definition, '-o', planPath])
  expect({stderr: run.stderr, exitCode: run.exitCode}).toEqual({stderr: `Plan written to ${planPath}\n`, exitCode: 0})
  return {definition, planPath, plan: JSON.parse(await readFile(planPath, 'utf8')) as Plan}
}

/** A copy of the plan file, edited. */
async function tampered(planPath: string, name: string, edit: (plan: Plan) => void): Promise<string> {
  const plan = JSON.parse(await readFile(planPath, 'utf8')) as Plan
  edit(plan)
  const path = join(dir, `${name}.plan.json`)
  await writeFile(path, JSON.stringify(plan, null, 2))
  return path
}

/** Every tag of every repository of the target (the real registry's own listing). */
async function targetTags(): Promise<string[]> {
  const catalog = (await (await fetch(`${target.url}/v2/_catalog`)).json()) as {repositories: string[]}
  const tags = await Promise.all(
    catalog.repositories.map(async (repo) => {
      const listing = (await (await fetch(`${target.url}/v2/${repo}/tags/list`)).json()) as {tags: string[] | null}
      return (listing.tags ?? []).map((tag) => `${repo}:${tag}`)
    }),
  )
  return tags.flat().sort()
}

/** Runs apply, expects exit 1 with one `Error:` line containing each of `want`, and nothing new at the target. */
async function expectRefused(args: string[], want: string | string[], env: Record<string, string> = {}): Promise<void> {
  const before = await targetTags()
  const run = await runCli(['apply', ...args], {env})
  expect({exitCode: run.exitCode, stdout: run.stdout}).toEqual({exitCode: 1, stdout: ''})
  expect(run.stderr).toStartWith('Error: ')
  for (const part of typeof want === 'string' ? [want] : want) expect(run.stderr).toContain(part)
  expect(run.stderr.trim().split('\n')).toHaveLength(1)
  expect(await targetTags()).toEqual(before)
}

describe('a plan that contradicts itself is refused, and nothing is written', () => {
  test('each edit gets its sentence', async () => {
    const {planPath} = await planned('self', [`- source: "${source.host}/acme/app:1.0"`, `- source: "${source.host}/acme/app@${app.digest}"\n  tag: "pinned"`])
    const cases: Array<{name: string; edit: (plan: Plan) => void; want: string}> = [
      {
        name: 'summary',
        edit: (p) => (p.summary = {toCopy: 0, alreadyPresent: 2, conflicting: 0, signatureFailures: 0}),
        want: 'contradicts itself: the summary says 0 to copy, 2 already present, 0 conflicting, 0 signature failures, but the entries hold 2 to copy',
      },
      {
        name: 'source-repository',
        edit: (p) => (p.entries[0]!.sourceRepository = `${source.host}/acme/other`),
        want: `sourceRepository "${source.host}/acme/other" is not the repository of source "${source.host}/acme/app:1.0"`,
      },
      {
        name: 'source-digest',
        edit: (p) => (p.entries[1]!.sourceDigest = other.digest),
        want: `sourceDigest ${other.digest} is not the digest the source pins (${app.digest})`,
      },
      {
        name: 'target',
        edit: (p) => (p.entries[0]!.target = `${prefix()}library/busybox:1.0`),
        want: `target is not where source "${source.host}/acme/app:1.0" is mirrored under "${prefix()}"`,
      },
      {
        name: 'duplicate',
        edit: (p) => {
          p.entries.push({...p.entries[0]!})
          p.summary.toCopy++
        },
        want: 'entry 3 (target',
      },
    ]
    for (const {name, edit, want} of cases) {
      const path = await tampered(planPath, `self-${name}`, edit)
      await expectRefused([path], [`Error: ${path} contradicts itself: `, want])
    }
    expect(await targetTags()).toEqual([])
  })
})

describe('target-only credentials go only to the target named at apply time', () => {
  test('a plan redirected to another registry is refused with and without --target-repo-prefix; the token never reaches it', async () => {
    // Registry B answers Basic challenges, which our transport would answer with the access token as a bearer:
    // a bearer Authorization header at B can only be that token.
    const other = await startFakeRegistry({auth: {kind: 'basic', username: 'u', password: 'p'}})
    try {
      const {planPath} = await planned('redirect', [`- source: "${source.host}/acme/app:1.0"\n  tag: "redirect"`])
      const text = await readFile(planPath, 'utf8')
      const redirected = join(dir, 'redirected.plan.json')
      // Prefix and targets move together, so the file still holds together: only the operator's word can catch it.
      await writeFile(redirected, text.replaceAll(`${target.host}/mirror/`, `${other.host}/mirror/`))

      // The flags every release had: before the binding, this sent the token to B.
      const leak = await runCli(['apply', redirected, '--access-token', 'secret-token'])
      expect(other.requests.filter((r) => r.authorization === 'bearer')).toEqual([])
      expect({exitCode: leak.exitCode, stderr: leak.stderr}).toEqual({
        exitCode: 1,
        stderr:
          'Error: --access-token (SYNCER_ACCESS_TOKEN) is only sent to the target named at apply time: pass --target-repo-prefix (or SYNCER_TARGET_REPO_PREFIX) so that a plan file cannot send it elsewhere; nothing was written\n',
      })
      await expectRefused([redirected], 'pass --target-repo-prefix', {SYNCER_ACCESS_TOKEN: 'secret-token'})
      await expectRefused(
        [redirected, '--target-repo-prefix', prefix(), '--access-token', 'secret-token'],
        `which is not under --target-repo-prefix "${prefix()}"; nothing was written and no credential was sent`,
      )
      await expectRefused([redirected, '--target-repo-prefix', prefix()], 'which is not under --target-repo-prefix')
      await expectRefused(
        [redirected, '--target-repo-auth-key', join(dir, 'key.json')],
        '--target-repo-auth-key (SYNCER_TARGET_REPO_AUTH_KEY) is only sent to the target named at apply time',
      )
      expect(other.requests).toEqual([])

      // The detector works: when the operator does name B, B sees the token (and refuses it: it wants Basic).
      await runCli(['apply', redirected, '--target-repo-prefix', `${other.host}/mirror/`, '--access-token', 'secret-token'])
      expect(other.requests.some((r) => r.authorization === 'bearer')).toBe(true)
    } finally {
      await other.stop()
    }
  })

  test('a plan under the named target is applied with the token, by flag or by variable', async () => {
    const {planPath} = await planned('named', [`- source: "${source.host}/acme/app:1.0"\n  tag: "named"`])
    const run = await runCli(['apply', planPath, '--target-repo-prefix', target.host, '--access-token', 'secret-token', '--quiet'])
    expect({stderr: run.stderr, exitCode: run.exitCode}).toEqual({stderr: '', exitCode: 0})
    expect(await targetTags()).toContain(`${mirrored}/acme/app:named`)
    const again = await runCli(['apply', planPath, '--quiet'], {env: {SYNCER_TARGET_REPO_PREFIX: prefix(), SYNCER_ACCESS_TOKEN: 'secret-token'}})
    expect({stderr: again.stderr, exitCode: again.exitCode}).toEqual({stderr: '', exitCode: 0})
  })

  test('the one-shot mode, which has no plan file to tamper with, still takes the token with the definition naming the target', async () => {
    const definition = join(dir, 'oneshot.yaml')
    await writeFile(definition, `targetRepoPrefix: "${prefix()}"\nimages:\n- source: "${source.host}/acme/other:1.0"\n  tag: "oneshot"\n`)
    const run = await runCli(['sync', '-i', definition, '--access-token', 'secret-token', '--quiet'])
    expect(run.exitCode).toBe(0)
    expect(await targetTags()).toContain(`${mirrored}/acme/other:oneshot`)
  })
})

describe('apply --definition ties the plan to the reviewed definition', () => {
  test('an edited definition or a plan that does not follow from it is refused; the matching pair is applied', async () => {
    const {definition, planPath} = await planned('reviewed', [`- source: "${source.host}/acme/app:1.0"\n  tag: "reviewed"`])

    const edited = join(dir, 'edited.yaml')
    await writeFile(edited, `${await readFile(definition, 'utf8')}- source: "${source.host}/acme/other:1.0"\n  tag: "reviewed"\n`)
    await expectRefused([planPath, '--definition', edited], `Error: ${planPath} was made from a definition with sha256:`)
    await expectRefused([planPath], `but ${edited} has sha256:`, {SYNCER_DEFINITION: edited})

    // An entry added to the plan, consistent in itself, with the recorded definition sha256 left alone.
    const added = await tampered(planPath, 'added', (p) => {
      p.entries.push({
        ...p.entries[0]!,
        source: `${source.host}/acme/other:1.0`,
        sourceRepository: `${source.host}/acme/other`,
        sourceDigest: other.digest,
        target: `${prefix()}${mirrored.slice('mirror/'.length)}/acme/other:1.0`,
        platforms: ['linux/amd64'],
      })
      p.summary.toCopy++
    })
    await expectRefused(
      [added, '--definition', definition],
      `Error: ${added} does not follow from ${definition}: entry 2 (target "${prefix()}${mirrored.slice('mirror/'.length)}/acme/other:1.0") is not made by any entry of the definition; nothing was written`,
    )

    const run = await runCli(['apply', planPath, '--definition', definition, '--quiet'])
    expect({stderr: run.stderr, exitCode: run.exitCode}).toEqual({stderr: '', exitCode: 0})
    expect(await targetTags()).toContain(`${mirrored}/acme/app:reviewed`)
  })
})
