/**
 * A registry that answers with terminal escape sequences (in error codes and messages, platforms, media types):
 * whatever plan, apply and verify print, and the plan file they write, holds no raw control character.
 * The CLI runs as a child process, so this is what a terminal would receive. And a registry that answers with
 * Markdown and HTML (platforms of `linux<!--`, `<img …>`, `[text](url)`): the plan's Markdown keeps every row in
 * place when GitHub renders it, and none of it renders as a tag or a link.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {type FakeRegistry, startFakeRegistry} from '../support/fake-registry/index.ts'
import {ociError} from '../support/fake-registry/errors.ts'
import {makeImage, makeIndex} from '../support/images.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'
import {runCli} from './scenario.ts'

setDefaultTimeout(60_000)

/** What a terminal may act on: C0 but newline, DEL, C1. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/
/** Sets the window title, then clears the screen: harmless only when shown as text. */
const TITLE = '\x1b]0;pwned\x07'
const CLEAR = '\x1b[2J\u009b2J'
const SHOWN_TITLE = '\\x1b]0;pwned\\x07'

let source: FakeRegistry
let target: FakeRegistry
let dir: string
let env: Record<string, string>

/** Seeds `repo:tag` with an index and its children, without validation (the HTTP API could refuse them). */
function seed(registry: FakeRegistry, repo: string, index: ReturnType<typeof makeIndex>, tag: string): void {
  for (const child of index.children) {
    for (const blob of [child.config, ...child.layers]) registry.putBlob(repo, blob.bytes)
    registry.putManifest(repo, child.digest, child.bytes, child.mediaType)
  }
  registry.putManifest(repo, tag, index.bytes, index.mediaType)
}

function seedImage(registry: FakeRegistry, repo: string, image: ReturnType<typeof makeImage>, tag: string): void {
  for (const blob of [image.config, ...image.layers]) registry.putBlob(repo, blob.bytes)
  registry.putManifest(repo, tag, image.bytes, image.mediaType)
}

/** Markdown and HTML a registry may put in a platform, meant to be rendered in the pull request. */
const HTML_PLATFORMS = [
  {os: 'linux<!--', architecture: 'amd64'},
  {os: 'linux', architecture: '<img src=x onerror=alert(1)>'},
  {os: 'linux', architecture: 'arm64', variant: '[click](https://evil.example/)'},
]

beforeAll(async () => {
  ;[source, target] = await Promise.all([startFakeRegistry(), startFakeRegistry()])
  dir = await mkdtemp(join(tmpdir(), 'image-syncer-hostile-text-'))
  await writeFile(join(dir, 'config.json'), '{}')
  env = {DOCKER_CONFIG: dir, SYNCER_QUIET: 'false'}

  // A platform whose os and architecture carry escape sequences (C0 and the one-character C1 CSI).
  seed(
    source,
    'acme/multi',
    makeIndex({
      flavor: 'oci',
      platforms: [
        {os: 'linux', architecture: 'amd64'},
        {os: `linux${TITLE}`, architecture: `arm64${CLEAR}`},
      ],
    }),
    '1',
  )
  // An amd64 descriptor whose media type has a parameter with an escape sequence.
  const amd64 = makeImage({flavor: 'oci'})
  const picked = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          mediaType: `${MediaType.OciManifest}; x="${TITLE}"`,
          digest: amd64.digest,
          size: amd64.bytes.byteLength,
          platform: {os: 'linux', architecture: 'amd64'},
        },
      ],
    }),
  )
  seed(source, 'acme/picked', {mediaType: MediaType.OciIndex, bytes: picked, digest: sha256Digest(picked), children: [amd64], attestations: []}, '1')
  // Found by HEAD, refused on GET (its manifest, and the referrers API verify asks) with an error body full of escape sequences.
  seed(source, 'acme/denied', makeIndex({flavor: 'oci', platforms: [{os: 'linux', architecture: 'amd64'}]}), '1')
  seed(source, 'acme/html', makeIndex({flavor: 'oci', platforms: HTML_PLATFORMS}), '1')
  // A conflict after it: the row a `<!--` would hide.
  seedImage(source, 'acme/conflict', makeImage({flavor: 'oci'}), '1')
  seedImage(target, `mirror/${source.host.replace(':', '-')}/acme/conflict`, makeImage({flavor: 'oci', platform: {os: 'linux', architecture: 'arm64'}}), '1')
  source.addFault({
    name: 'hostile error body',
    method: 'GET',
    path: /^\/v2\/acme\/denied\/(manifests|referrers)\//,
    times: Infinity,
    action: () => ociError(403, 'DENIED', `no ${TITLE}${CLEAR}\nfake line`),
  })
})

afterAll(async () => {
  await Promise.all([source.stop(), target.stop()])
  await rm(dir, {recursive: true, force: true})
})

async function definition(name: string, images: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, `targetRepoPrefix: "${target.host}/mirror/"\nimages:\n${images}\n`)
  return path
}

function expectPrintable(...texts: string[]): void {
  for (const text of texts) expect(text).not.toMatch(RAW_CONTROL)
}

describe('registry text with escape sequences', () => {
  test('plan: the table, the JSON and the plan file show platforms and media types escaped', async () => {
    const images = await definition('ok.yaml', `- source: "${source.host}/acme/multi:1"\n- source: "${source.host}/acme/picked:1"\n  amd64Only: true`)
    const out = join(dir, 'ok.plan.json')
    const table = await runCli(['plan', '-i', images, '-o', out], {env})
    expect(table.exitCode).toBe(0)
    const planText = await Bun.file(out).text()
    expectPrintable(table.stdout, table.stderr, planText)
    expect(table.stdout).toContain(`linux${SHOWN_TITLE}/arm64\\x1b[2J\\x9b2J`)
    const plan = JSON.parse(planText) as {entries: Array<{mediaType: string; platforms: string[]}>}
    expect(plan.entries[0]!.platforms).toContain(`linux${SHOWN_TITLE}/arm64\\x1b[2J\\x9b2J`)
    expect(plan.entries[1]!.mediaType).toBe(MediaType.OciManifest)

    const json = await runCli(['plan', '-i', images, '-o', join(dir, 'ok2.plan.json'), '--format', 'json'], {env})
    expect(json.exitCode).toBe(0)
    expectPrintable(json.stdout, json.stderr)
  })

  test("plan: an entry the registry refused is told with the registry's message escaped, on one line", async () => {
    const images = await definition('denied.yaml', `- source: "${source.host}/acme/denied:1"`)
    const run = await runCli(['plan', '-i', images, '-o', join(dir, 'denied.plan.json')], {env})
    expect(run.exitCode).toBe(1)
    expectPrintable(run.stdout, run.stderr)
    expect(run.stderr).toContain(`DENIED: no ${SHOWN_TITLE}\\x1b[2J\\x9b2J\\x0afake line`)
    expect(run.stderr).not.toMatch(/^fake line/m)
  })

  test('apply: the Failed: lines and the progress lines show the target registry message escaped', async () => {
    const images = await definition('apply.yaml', `- source: "${source.host}/acme/multi:1"`)
    const plan = join(dir, 'apply.plan.json')
    expect((await runCli(['plan', '-i', images, '-o', plan], {env})).exitCode).toBe(0)
    const fault = target.addFault({
      name: 'hostile refusal',
      method: 'PUT',
      path: /\/manifests\//,
      times: Infinity,
      action: () => ociError(400, 'MANIFEST_INVALID', `refused ${TITLE}${CLEAR}`),
    })
    try {
      const run = await runCli(['apply', plan], {env})
      expect(run.exitCode).toBe(1)
      expectPrintable(run.stdout, run.stderr)
      expect(run.stdout).toContain('Failed:')
      expect(run.stdout).toContain(`MANIFEST_INVALID: refused ${SHOWN_TITLE}\\x1b[2J\\x9b2J`)
      expect(run.stderr).toContain(`MANIFEST_INVALID: refused ${SHOWN_TITLE}`)
      const json = await runCli(['apply', plan, '--format', 'json', '--quiet'], {env})
      expectPrintable(json.stdout, json.stderr)
    } finally {
      expect(fault.hits).toBeGreaterThan(0)
      target.clearFaults()
    }
  })

  test('verify: an error carrying the registry message is printed escaped', async () => {
    const key = join(dir, 'cosign.pub')
    await writeFile(key, makeKeyPair().publicPem)
    const run = await runCli(['verify', `${source.host}/acme/denied:1`, '--key', key], {env})
    expect(run.exitCode).toBe(1)
    expectPrintable(run.stdout, run.stderr)
    expect(run.stderr).toContain(SHOWN_TITLE)
  })
})

describe('registry text with Markdown and HTML', () => {
  /** GitHub's rendering, as near as Bun's GFM renderer gets: tables, and autolinks for bare URLs. */
  const render = (markdown: string) => Bun.markdown.html(markdown, {autolinks: true})

  test('plan --format markdown and the step summary: every row in place, no tag or link of the registry', async () => {
    const images = await definition('html.yaml', `- source: "${source.host}/acme/html:1"\n- source: "${source.host}/acme/conflict:1"`)
    const summary = join(dir, 'html-summary.md')
    const run = await runCli(['plan', '-i', images, '-o', join(dir, 'html.plan.json'), '--format', 'markdown'], {
      env: {...env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary},
    })
    expect(run.exitCode).toBe(1)
    for (const markdown of [run.stdout, await readFile(summary, 'utf8')]) {
      const html = render(markdown)
      for (const tag of ['<img', '<a ', '<!--']) expect(html).not.toContain(tag)
      const rows = html.match(/<tr>.*?<\/tr>/g) ?? []
      expect(rows).toHaveLength(3)
      for (const row of rows) expect(row.match(/<t[dh]>/g)).toHaveLength(6)
      expect(rows[1]).toContain('<code>linux&lt;!--/amd64, linux/&lt;img src=x onerror=alert(1)&gt;, linux/arm64/[click](https://evil.example/)</code>')
      expect(rows[2]).toContain('<strong>conflicting-ID</strong>')
    }
  })
})
