/**
 * Opening an OCI image layout directory, and creating an empty one for a target: where its root really is (inside
 * the layout tree the user named, never through a symlink leading out), its `oci-layout` version, its index.json.
 */
import {mkdir, realpath, stat} from 'node:fs/promises'
import {isAbsolute, join, relative, resolve} from 'node:path'
import type {Pace} from '../../transport/retry.ts'
import {LayoutError} from '../layout-errors.ts'
import {ensureDirectoryInside, errnoCode, readInside, realInside, sizeInside, writeAtomic} from './files.ts'
import {emptyIndex, indexPath, readIndex} from './index-file.ts'
import {OciLayout} from './layout.ts'

const IMAGE_LAYOUT_VERSION = '1.0.0'
/** `oci-layout` is a one-field JSON object; anything bigger is not one. */
const MAX_OCI_LAYOUT_BYTES = 64 * 1024

export interface OpenLayoutOptions {
  /** Create the directory and an empty layout when there is none (a target); false for a source. */
  create: boolean
  /** The run's pace: how writers wait for the index.json lock (lock.ts), and on which clock. */
  pace: Pace
  /**
   * The layout tree (`oci:DIR/`) that `dir` is in: `dir` and every directory between must resolve inside it, so
   * a repository or registry directory that is a symlink leading out is refused. Default: `dir` itself.
   */
  tree?: string
}

/**
 * Opens the layout at `dir`. Without `create`, `dir` must already be a layout. With it, a missing directory,
 * or one without `oci-layout` and `index.json`, becomes an empty layout; a directory holding an index.json
 * but no oci-layout is refused rather than adopted, since we cannot tell what wrote it.
 */
export async function openLayout(dir: string, options: OpenLayoutOptions): Promise<OciLayout> {
  const root = await layoutRoot(dir, options)
  const layoutFile = join(root, 'oci-layout')
  let marker = await readInside(root, layoutFile, MAX_OCI_LAYOUT_BYTES, 'an oci-layout file')
  if (marker === null && options.create) {
    // Another process may be creating the layout right now: it writes oci-layout before index.json, so an
    // index.json seen after our look for oci-layout means a second look finds oci-layout, if a creator made it.
    if ((await sizeInside(root, indexPath(root))) !== null && (await readInside(root, layoutFile, MAX_OCI_LAYOUT_BYTES, 'an oci-layout file')) === null) {
      throw new LayoutError('NOT_A_LAYOUT', layoutFile, `${root} has an index.json but no oci-layout file: refusing to turn an unknown directory into a layout`)
    }
    // oci-layout first, index.json second: a directory with oci-layout and no index.json is one being created.
    await writeAtomic(layoutFile, new TextEncoder().encode(JSON.stringify({imageLayoutVersion: IMAGE_LAYOUT_VERSION})), 'keep-existing')
    marker = await readInside(root, layoutFile, MAX_OCI_LAYOUT_BYTES, 'an oci-layout file')
  }
  if (marker === null) throw new LayoutError('NOT_A_LAYOUT', layoutFile, `${root} is not an OCI image layout: ${layoutFile} is missing`)
  checkLayoutVersion(marker, layoutFile)
  if (options.create) {
    await ensureDirectoryInside(root, join(root, 'blobs'))
    if ((await readIndex(root)) === null) await writeAtomic(indexPath(root), new TextEncoder().encode(JSON.stringify(emptyIndex())), 'keep-existing')
  }
  if ((await readIndex(root)) === null)
    throw new LayoutError('INVALID_INDEX', indexPath(root), `${root} is not a complete OCI image layout: ${indexPath(root)} is missing`)
  return new OciLayout(root, options.pace)
}

/**
 * The real path of the layout directory, checked to lie inside its tree. The tree is created as named (it is
 * the boundary the user chose, a symlink or not); below it, each level is created only once the level above is
 * known to be inside, so a symlinked registry directory never gets a repository created where it leads.
 */
async function layoutRoot(dir: string, options: OpenLayoutOptions): Promise<string> {
  const tree = options.tree ?? dir
  if (options.create) await mkdir(tree, {recursive: true})
  const realTree = await realDirectory(tree, dir)
  const below = relative(resolve(tree), resolve(dir))
  if (below === '') return realTree
  if (below.startsWith('..') || isAbsolute(below)) throw new LayoutError('OUTSIDE_LAYOUT', dir, `${dir} is not inside the layout tree ${tree}`)
  const path = join(realTree, below)
  const real = options.create ? await ensureDirectoryInside(realTree, path) : await realInside(realTree, path)
  if (real === null) throw new LayoutError('NOT_A_LAYOUT', dir, `${dir} does not exist, so it is not an OCI image layout`)
  return realDirectory(real, dir)
}

async function realDirectory(path: string, dir: string): Promise<string> {
  try {
    const real = await realpath(path)
    if (!(await stat(real)).isDirectory()) throw new LayoutError('NOT_A_LAYOUT', dir, `${path} is not a directory, so not an OCI image layout`)
    return real
  } catch (err) {
    // The layout looked for is named even when it is its tree that is missing: that is the path a user checks.
    if (errnoCode(err) === 'ENOENT') throw new LayoutError('NOT_A_LAYOUT', dir, `${dir} does not exist, so it is not an OCI image layout`)
    throw err
  }
}

function checkLayoutVersion(bytes: Uint8Array, path: string): void {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new LayoutError('NOT_A_LAYOUT', path, `${path} is not valid JSON, so this is not an OCI image layout`)
  }
  const version = (json as {imageLayoutVersion?: unknown} | null)?.imageLayoutVersion
  if (version !== IMAGE_LAYOUT_VERSION) {
    throw new LayoutError(
      'UNSUPPORTED_LAYOUT_VERSION',
      path,
      `${path} has imageLayoutVersion ${JSON.stringify(version ?? null)}, but only "${IMAGE_LAYOUT_VERSION}" is supported`,
    )
  }
}
