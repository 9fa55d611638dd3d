/**
 * The container image, built without a container engine from the shared release set: reproducible, runnable as
 * its non-root user in a chroot of its amd64 layer (no Docker here), and pushed by our own client so that an
 * independent client (skopeo) reads it.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildImage, IMAGE_USER, pushImage} from '../../.ci/image.ts'
import {sourceCommit} from '../../.ci/release.ts'
import {connectRegistries} from '../../src/registry/connect.ts'
import {type Scenario, startScenario} from '../integration/scenario.ts'
import {releaseSet, type ReleaseSet} from '../support/release.ts'
import {realPace} from '../../src/commands/pace.ts'

setDefaultTimeout(300_000)

let set: ReleaseSet
let s: Scenario
let work: string
let built: Awaited<ReturnType<typeof buildImage>>
beforeAll(async () => {
  set = await releaseSet()
  s = await startScenario()
  work = await mkdtemp(join(tmpdir(), 'image-syncer-oci-'))
  const input = {
    binaries: {'linux-x64': set.path('linux-x64'), 'linux-arm64': set.path('linux-arm64')},
    version: set.version,
    commit: set.commit,
    time: sourceCommit().time,
    source: 'https://github.com/acme/image-syncer',
  }
  built = await buildImage(input, join(work, 'layout-a'))
  await buildImage(input, join(work, 'layout-b'))
})
afterAll(async () => {
  await s?.stop()
  if (work) await rm(work, {recursive: true, force: true})
})

const readJson = async (layout: string, digest: string) => JSON.parse(await readFile(join(work, layout, 'blobs/sha256', digest.slice(7)), 'utf8'))

describe('the container image', () => {
  test('an OCI layout with one index of linux/amd64 and linux/arm64, annotated, byte-identical across builds', async () => {
    const layoutIndex = (name: string) => readFile(join(work, name, 'index.json'), 'utf8')
    expect(await layoutIndex('layout-b')).toBe(await layoutIndex('layout-a'))
    const index = await readJson('layout-a', built.index)
    expect(index.manifests.map((m: {platform: unknown}) => m.platform)).toEqual([
      {os: 'linux', architecture: 'amd64'},
      {os: 'linux', architecture: 'arm64'},
    ])
    expect(index.annotations).toMatchObject({
      'org.opencontainers.image.revision': set.commit,
      'org.opencontainers.image.version': set.version,
      'org.opencontainers.image.licenses': 'Apache-2.0',
    })
    const manifest = await readJson('layout-a', index.manifests[0].digest)
    const config = await readJson('layout-a', manifest.config.digest)
    expect(config.config).toMatchObject({User: `${IMAGE_USER}:${IMAGE_USER}`, Entrypoint: ['/image-syncer']})
    const listing = Bun.spawnSync(['tar', '-tvzf', join(work, 'layout-a/blobs/sha256', manifest.layers[0].digest.slice(7))]).stdout.toString()
    expect(listing).toContain('./image-syncer')
    expect(listing).toContain('./etc/passwd')
    expect(listing).toMatch(/^drwxrwxrwt 0\/0 .* \.\/tmp\/$/m)
    for (const line of listing.trim().split('\n')) expect(line).toMatch(/^\S+ 0\/0 /)
  })

  test('the amd64 layer, unpacked into a root filesystem, runs as the image user under chroot: --version and a plan', async () => {
    const index = await readJson('layout-a', built.index)
    const manifest = await readJson('layout-a', index.manifests[0].digest)
    const rootfs = join(work, 'rootfs')
    await mkdir(rootfs)
    expect(Bun.spawnSync(['tar', '-xzf', join(work, 'layout-a/blobs/sha256', manifest.layers[0].digest.slice(7)), '-C', rootfs]).exitCode).toBe(0)
    // What a container runtime provides: /proc (Bun reads /proc/self/exe to find its embedded program).
    await mkdir(join(rootfs, 'proc'))
    expect(Bun.spawnSync(['mount', '-t', 'proc', 'proc', join(rootfs, 'proc')]).exitCode).toBe(0)
    try {
      await runInChroot(rootfs)
    } finally {
      Bun.spawnSync(['umount', join(rootfs, 'proc')])
    }
  })

  async function runInChroot(rootfs: string): Promise<void> {
    const chroot = (args: string[]) => {
      const r = Bun.spawnSync(['/usr/sbin/chroot', `--userspec=${IMAGE_USER}:${IMAGE_USER}`, rootfs, '/image-syncer', ...args], {
        env: {HOME: '/tmp', PATH: '/'},
        stdout: 'pipe',
        stderr: 'pipe',
      })
      return {exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString()}
    }
    expect(chroot(['--version'])).toEqual({exitCode: 0, stdout: `image-syncer/${set.version} (commit ${set.commit})\n`, stderr: ''})
    await writeFile(join(rootfs, 'tmp/def.yaml'), `targetRepoPrefix: "${s.prefix}image/"\nimages:\n- source: "multi:1.0"\n`)
    const plan = chroot(['plan', '-i', '/tmp/def.yaml', '-o', '/tmp/def.plan.json', '--mirror', s.mirrorFlag, '--detailed-exitcode'])
    expect(plan.stderr).toBe('Plan written to /tmp/def.plan.json\n')
    expect(plan.exitCode).toBe(2)
  }

  test('pushed by our registry client, skopeo reads the index and the amd64 image', async () => {
    const client = await connectRegistries({targetRegistry: s.target.host, insecureRegistries: [], mirrors: {}, pace: realPace()}, set.version)
    await pushImage(client, {registry: s.target.host, repository: 'tools/image-syncer'}, set.version, built)
    const ref = `docker://${s.target.host}/tools/image-syncer:${set.version}`
    const raw = Bun.spawnSync(['skopeo', 'inspect', '--tls-verify=false', '--raw', ref], {stdout: 'pipe', stderr: 'pipe'})
    expect(raw.stderr.toString()).toBe('')
    expect(`sha256:${new Bun.CryptoHasher('sha256').update(raw.stdout).digest('hex')}`).toBe(built.index)
    const inspect = Bun.spawnSync(['skopeo', 'inspect', '--tls-verify=false', '--override-arch', 'amd64', '--override-os', 'linux', ref], {
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const info = JSON.parse(inspect.stdout.toString()) as {Architecture: string; Labels: Record<string, string>}
    expect(info.Architecture).toBe('amd64')
    expect(info.Labels['org.opencontainers.image.revision']).toBe(set.commit)
  })
})
