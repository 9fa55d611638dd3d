/**
 * The container image of image-syncer, assembled without a container engine (`npm run release -- --push REF`):
 * for linux/amd64 and linux/arm64, one layer holding the glibc release binary, the shared libraries it needs
 * (copied from this machine: Debian's libc6 and libc6-arm64-cross), CA certificates, /etc/passwd with a
 * non-root user and a world-writable /tmp; `Entrypoint` the binary; both in one OCI index, written as an OCI
 * layout and pushed with the project's registry client.
 *
 * Reproducible: one commit gives one index digest. Entries are sorted, every mtime is the commit time, owners
 * are 0/0 (no uid/gid or user name of the build machine leaks), gzip writes no name or time.
 */
import {createReadStream} from 'node:fs'
import {cp, mkdir, mkdtemp, realpath, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {MediaType} from '../src/oci/media-types.ts'
import {type Digest, sha256Digest} from '../src/ref/digest.ts'
import type {RegistryClient} from '../src/registry/client.ts'
import type {Repository} from '../src/registry/handle.ts'
import {gzipFile} from './gzip.ts'

/** The image user: a fixed non-root uid/gid (distroless's "nonroot"), with /tmp as its home. */
export const IMAGE_USER = 65532

interface Arch {
  platform: {os: 'linux'; architecture: 'amd64' | 'arm64'}
  /** Where the binary's glibc lives on this machine, and where the image keeps it (its PT_INTERP path first). */
  libs: Array<[from: string, to: string]>
}

const GLIBC = ['libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2']
export const ARCHES = {
  'linux-x64': {
    platform: {os: 'linux', architecture: 'amd64'},
    libs: [
      ['/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '/lib64/ld-linux-x86-64.so.2'],
      ...GLIBC.map((l): [string, string] => [`/lib/x86_64-linux-gnu/${l}`, `/lib/x86_64-linux-gnu/${l}`]),
    ],
  },
  'linux-arm64': {
    platform: {os: 'linux', architecture: 'arm64'},
    libs: [
      ['/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1', '/lib/ld-linux-aarch64.so.1'],
      ...GLIBC.map((l): [string, string] => [`/usr/aarch64-linux-gnu/lib/${l}`, `/lib/aarch64-linux-gnu/${l}`]),
    ],
  },
} as const satisfies Record<string, Arch>
export type ImageArch = keyof typeof ARCHES

export interface ImageInput {
  binaries: Record<ImageArch, string>
  version: string
  commit: string
  /** Commit time, seconds: every timestamp in the image. */
  time: number
  source: string
}

interface ImageBlob {
  digest: Digest
  size: number
  mediaType: string
  /** In memory for configs and manifests, a file for layers. */
  bytes?: Uint8Array
  path?: string
}

function run(cmd: string[], cwd?: string): Uint8Array {
  const r = Bun.spawnSync(cmd, {cwd, stdout: 'pipe', stderr: 'pipe'})
  if (r.exitCode !== 0) throw new Error(`${cmd[0]} failed: ${r.stderr.toString().trim()}`)
  return r.stdout
}

/** The root filesystem of one platform as an uncompressed, reproducible tar. */
async function layerTar(arch: ImageArch, binary: string, time: number, work: string): Promise<string> {
  const root = join(work, `rootfs-${arch}`)
  await mkdir(join(root, 'etc/ssl/certs'), {recursive: true})
  await mkdir(join(root, 'tmp'), {recursive: true, mode: 0o1777})
  await cp(binary, join(root, 'image-syncer'))
  for (const [from, to] of ARCHES[arch].libs) {
    await mkdir(join(root, to, '..'), {recursive: true})
    await cp(await realpath(from), join(root, to))
  }
  await cp(await realpath('/etc/ssl/certs/ca-certificates.crt'), join(root, 'etc/ssl/certs/ca-certificates.crt'))
  await writeFile(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${IMAGE_USER}:${IMAGE_USER}:nonroot:/tmp:/sbin/nologin\n`)
  await writeFile(join(root, 'etc/group'), `root:x:0:\nnonroot:x:${IMAGE_USER}:\n`)
  run(['chmod', '-R', 'u=rwX,go=rX', root])
  run(['chmod', '0755', join(root, 'image-syncer')])
  run(['chmod', '1777', join(root, 'tmp')])
  const tar = join(work, `layer-${arch}.tar`)
  const pax = 'exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime'
  run([
    'tar',
    '--sort=name',
    `--mtime=@${time}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--format=posix',
    `--pax-option=${pax}`,
    '-cf',
    tar,
    '-C',
    root,
    '.',
  ])
  return tar
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const inMemory = (mediaType: string, bytes: Uint8Array): ImageBlob => ({digest: sha256Digest(bytes), size: bytes.byteLength, mediaType, bytes})

async function fileDigest(path: string): Promise<Digest> {
  const hasher = new Bun.CryptoHasher('sha256')
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk)
  return `sha256:${hasher.digest('hex')}`
}

/** Builds the image as an OCI layout in `layout`; returns the index digest. */
export async function buildImage(input: ImageInput, layout: string): Promise<{index: Digest; blobs: ImageBlob[]}> {
  const work = await mkdtemp(join(tmpdir(), 'image-syncer-image-'))
  try {
    const created = new Date(input.time * 1000).toISOString()
    const annotations = {
      'org.opencontainers.image.source': input.source,
      'org.opencontainers.image.version': input.version,
      'org.opencontainers.image.revision': input.commit,
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.title': 'image-syncer',
      'org.opencontainers.image.created': created,
    }
    const blobs: ImageBlob[] = []
    const manifests = []
    // The layers compress on the thread pool, both at once; the manifests are then written in platform order.
    const arches = Object.keys(ARCHES) as ImageArch[]
    const layers = await Promise.all(
      arches.map(async (arch) => {
        const tar = await layerTar(arch, input.binaries[arch], input.time, work)
        const gz = `${tar}.gz`
        await gzipFile(tar, gz)
        const layer: ImageBlob = {digest: await fileDigest(gz), size: Bun.file(gz).size, mediaType: MediaType.OciLayerGzip, path: gz}
        return {layer, diffId: await fileDigest(tar)}
      }),
    )
    for (const [i, arch] of arches.entries()) {
      const {layer, diffId} = layers[i]!
      const config = inMemory(
        MediaType.OciConfig,
        json({
          created,
          architecture: ARCHES[arch].platform.architecture,
          os: 'linux',
          config: {
            User: `${IMAGE_USER}:${IMAGE_USER}`,
            Entrypoint: ['/image-syncer'],
            Env: ['HOME=/tmp', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'],
            WorkingDir: '/tmp',
            Labels: annotations,
          },
          rootfs: {type: 'layers', diff_ids: [diffId]},
          history: [{created, created_by: `image-syncer release ${input.version} (${input.commit})`}],
        }),
      )
      const manifest = inMemory(
        MediaType.OciManifest,
        json({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: {mediaType: config.mediaType, digest: config.digest, size: config.size},
          layers: [{mediaType: layer.mediaType, digest: layer.digest, size: layer.size}],
          annotations,
        }),
      )
      blobs.push(layer, config, manifest)
      manifests.push({mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, platform: ARCHES[arch].platform})
    }
    const index = inMemory(MediaType.OciIndex, json({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests, annotations}))
    blobs.push(index)
    await rm(layout, {recursive: true, force: true})
    await mkdir(join(layout, 'blobs/sha256'), {recursive: true})
    for (const blob of blobs) {
      const to = join(layout, 'blobs/sha256', blob.digest.slice('sha256:'.length))
      if (blob.path) await cp(blob.path, to)
      else await writeFile(to, blob.bytes!)
    }
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    const ref = {'org.opencontainers.image.ref.name': input.version}
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [{mediaType: index.mediaType, digest: index.digest, size: index.size, annotations: ref}],
      }),
    )
    return {index: index.digest, blobs: blobs.map((b) => (b.path ? {...b, path: join(layout, 'blobs/sha256', b.digest.slice(7))} : b))}
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}

/**
 * Pushes a built image through the store handle every copy uses: blobs the registry lacks, the platform manifests
 * by digest, then the index under `tag`.
 */
export async function pushImage(client: RegistryClient, repo: Repository, tag: string, image: {index: Digest; blobs: ImageBlob[]}): Promise<void> {
  const target = client.repository(repo)
  const isManifest = (b: ImageBlob) => b.mediaType === MediaType.OciManifest || b.mediaType === MediaType.OciIndex
  for (const blob of image.blobs.filter((b) => !isManifest(b))) {
    if ((await target.headBlob(blob.digest)) !== null) continue
    const open = async () => (blob.path ? (Readable.toWeb(createReadStream(blob.path)) as ReadableStream<Uint8Array>) : new Blob([blob.bytes!]).stream())
    await target.putBlob({digest: blob.digest, size: blob.size, open})
  }
  for (const blob of image.blobs.filter(isManifest)) {
    const reference = blob.digest === image.index ? tag : blob.digest
    await target.putManifest(reference, {bytes: blob.bytes!, mediaType: blob.mediaType, digest: blob.digest})
  }
}
