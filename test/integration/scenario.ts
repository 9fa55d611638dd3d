/**
 * A source and a target registry (real docker-registry processes) seeded with every case `plan` must classify:
 * indexes in OCI and Docker flavours with attestations, single manifests, an image already mirrored, a target
 * tag holding other content. Sources are written as Docker Hub names and read through `--mirror`, the way a
 * team would point Docker Hub at a pull-through cache.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {type Image, type Index, makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {type RealRegistry, startRealRegistry} from '../support/real-registry.ts'
import {type CliOptions, type CliRun, runCommandInProcess} from '../support/run-command.ts'

export interface Scenario {
  source: RealRegistry
  target: RealRegistry
  dir: string
  prefix: string
  images: {multi: Index; list: Index; single: Image; arm: Image; present: Index; conflictSource: Image; conflictTarget: Image; amdPick: Index}
  /** Writes a definition file in the scenario's directory and returns its path. */
  definition(name: string, images: string): Promise<string>
  mirrorFlag: string
  stop(): Promise<void>
}

const AMD64 = {os: 'linux', architecture: 'amd64'}
const ARM64 = {os: 'linux', architecture: 'arm64', variant: 'v8'}

export async function startScenario(): Promise<Scenario> {
  const [source, target] = await Promise.all([startRealRegistry(), startRealRegistry()])
  const dir = await mkdtemp(join(tmpdir(), 'image-syncer-scenario-'))
  const images = {
    multi: makeIndex({flavor: 'oci', platforms: [AMD64, ARM64], attestation: true}),
    list: makeIndex({flavor: 'docker', platforms: [AMD64, {os: 'linux', architecture: 'arm', variant: 'v7'}]}),
    single: makeImage({flavor: 'docker', platform: AMD64}),
    arm: makeImage({flavor: 'oci', platform: ARM64}),
    present: makeIndex({flavor: 'oci', platforms: [AMD64, ARM64]}),
    conflictSource: makeImage({flavor: 'oci'}),
    conflictTarget: makeImage({flavor: 'oci'}),
    amdPick: makeIndex({flavor: 'docker', platforms: [ARM64, AMD64], attestation: true}),
  }
  await Promise.all([
    pushIndex(source.url, 'library/multi', images.multi, '1.0'),
    pushIndex(source.url, 'acme/list', images.list, '2.0'),
    pushImage(source.url, 'library/single', images.single, '1.0'),
    pushImage(source.url, 'acme/arm', images.arm, '1.0'),
    pushIndex(source.url, 'acme/present', images.present, '1.0'),
    pushIndex(target.url, 'mirror/acme/present', images.present, '1.0'),
    pushImage(source.url, 'acme/conflict', images.conflictSource, '1.0'),
    pushImage(target.url, 'mirror/acme/conflict', images.conflictTarget, '1.0'),
    pushIndex(source.url, 'acme/amdpick', images.amdPick, '3.1'),
  ])
  const prefix = `${target.host}/mirror/`
  return {
    source,
    target,
    dir,
    prefix,
    images,
    mirrorFlag: `docker.io=${source.url}`,
    async definition(name, body) {
      const path = join(dir, name)
      await writeFile(path, `targetRepoPrefix: "${prefix}"\nimages:\n${body}`)
      return path
    },
    async stop() {
      await Promise.all([source.stop(), target.stop()])
      await rm(dir, {recursive: true, force: true})
    },
  }
}

/** Every classifiable case, one entry each; the conflict is optional so exit codes 0 and 2 can be tested too. */
export function classifiableEntries(s: Scenario, withConflict: boolean): string {
  return [
    `- source: "multi:1.0"`,
    `- source: "acme/list:2.0"`,
    `- source: "single:1.0"`,
    `- source: "acme/arm:1.0"`,
    `- source: "acme/present:1.0"`,
    `- source: "acme/amdpick:3.1"\n  amd64Only: true`,
    `- source: "single:1.0"\n  tag: "1.0-amd64"\n  amd64Only: true`,
    `- source: "multi@${s.images.multi.digest}"\n  tag: "1.0-pinned"`,
    ...(withConflict ? [`- source: "acme/conflict:1.0"`] : []),
  ].join('\n')
}

/**
 * Runs the CLI and returns what it printed and its exit code: in this process (test/support/run-command.ts)
 * unless a process is the point, `process: true` for `bun src/cli.ts` or `binary` for a compiled one. `pace`
 * (in process only) is what the run's retries wait on, e.g. testPace(), so a 429's Retry-After is recorded, not slept.
 */
export async function runCli(args: string[], options: CliOptions & {process?: true; binary?: string} = {}): Promise<CliRun> {
  if (!options.process && !options.binary) return runCommandInProcess(args, options)
  // A process waits on real timers: a test pace can only be handed to a run in this process.
  if (options.pace) throw new Error('runCli: a pace is for in-process runs only, not with `process` or `binary`')
  const command = options.binary ? [options.binary, ...args] : [process.execPath, join(import.meta.dir, '../../src/cli.ts'), ...args]
  const child = Bun.spawn(command, {cwd: options.cwd, env: {...process.env, ...options.env}, stdout: 'pipe', stderr: 'pipe'})
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return {stdout, stderr, exitCode}
}
