/**
 * The README's main-job quickstart: the seed's workflow on an embedded default, entirely on this machine.
 * Two real registries on loopback stand in for Docker Hub (through --mirror, as a pull-through cache would)
 * and for the organisation's registry; sample images are made on the fly, then `image-syncer plan` runs on an
 * `external-images.yaml` like the seed's; `apply` copies what it planned, and a second plan finds it all present.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {makeImage, makeIndex, pushImage, pushIndex} from '../support/images.ts'
import {startRealRegistry} from '../support/real-registry.ts'

const AMD64 = {os: 'linux', architecture: 'amd64'}
const ARM64 = {os: 'linux', architecture: 'arm64', variant: 'v8'}
const repoRoot = join(import.meta.dir, '../..')

const [hub, org] = await Promise.all([startRealRegistry(), startRealRegistry()])
const dir = await mkdtemp(join(tmpdir(), 'image-syncer-demo-'))
let exitCode = 1
try {
  const busybox = makeIndex({flavor: 'oci', platforms: [AMD64, ARM64], attestation: true, seed: 'busybox'})
  const alpine = makeIndex({flavor: 'docker', platforms: [AMD64, ARM64], seed: 'alpine'})
  await Promise.all([
    pushImage(hub.url, 'bitnami/keycloak-gatekeeper', makeImage({flavor: 'docker', seed: 'keycloak'}), '9.0.3'),
    pushIndex(hub.url, 'library/busybox', busybox, '1.36.1'),
    pushIndex(hub.url, 'bitnami/postgres-exporter', makeIndex({flavor: 'docker', platforms: [AMD64, ARM64], seed: 'pgexp'}), '0.11.1-debian-11-r69'),
    pushIndex(hub.url, 'library/alpine', alpine, '3.20'),
    // Already mirrored earlier: plan reports it as present and will not copy it again.
    pushIndex(org.url, 'external/library/alpine', alpine, '3.20'),
  ])
  const definition = join(dir, 'external-images.yaml')
  await writeFile(
    definition,
    `targetRepoPrefix: "${org.host}/external/"
images:
- source: "bitnami/keycloak-gatekeeper:9.0.3"
- source: "busybox@${busybox.digest}"
  tag: "1.36.1-v1"
- source: "bitnami/postgres-exporter:0.11.1-debian-11-r69"
  amd64Only: true
- source: "alpine:3.20"
`,
  )
  console.error(`Source (stands in for Docker Hub): ${hub.url}   Target: ${org.url}\n`)
  const cli = (args: string[]) =>
    Bun.spawn([process.execPath, join(repoRoot, 'src/cli.ts'), ...args, '--mirror', `docker.io=${hub.url}`], {stdout: 'inherit', stderr: 'inherit'}).exited
  const planFile = join(repoRoot, 'plans/demo.plan.json')
  console.error('$ image-syncer plan -i external-images.yaml --detailed-exitcode')
  // --detailed-exitcode: 2 means "something to copy", the expected outcome of the first plan.
  const planned = await cli(['plan', '-i', definition, '-o', planFile, '--detailed-exitcode'])
  console.error('\n$ image-syncer apply plans/demo.plan.json')
  const applied = planned === 2 ? await cli(['apply', planFile]) : 1
  console.error('\n$ image-syncer plan -i external-images.yaml --detailed-exitcode   # again: nothing left to copy')
  const replanned = applied === 0 ? await cli(['plan', '-i', definition, '-o', planFile, '--detailed-exitcode']) : 1
  exitCode = planned === 2 && applied === 0 && replanned === 0 ? 0 : 1
  console.error(
    exitCode === 0
      ? '\nDone: plan, apply, and a re-plan that finds everything present.'
      : `\nUnexpected exit codes: plan ${planned}, apply ${applied}, re-plan ${replanned}`,
  )
} finally {
  await Promise.all([hub.stop(), org.stop()])
  await rm(dir, {recursive: true, force: true})
}
process.exit(exitCode)
