/**
 * The named `oci:DIR/` is the boundary of a layout tree (issue 16): a repository or registry directory inside
 * it that is a symlink leading out is neither written through (target) nor read (source), and a plan's layout
 * prefix is under the operator's only if it is once symlinks are resolved. A symlink that stays inside the
 * tree is followed as before.
 */
import {afterAll, describe, expect, test} from 'bun:test'
import {mkdir, readdir, symlink} from 'node:fs/promises'
import {join} from 'node:path'
import {checkPlanBinding, PlanBindingError} from '../../src/apply/binding.ts'
import {LAYOUT_REGISTRY} from '../../src/ref/target.ts'
import {connectStores} from '../../src/registry/connect.ts'
import {LayoutError} from '../../src/registry/layout-errors.ts'
import {openLayout} from '../../src/registry/layout/open.ts'
import {rejectedWith} from '../support/errors.ts'
import {emptyPlan} from '../support/plans.ts'
import {makeImage} from '../support/images.ts'
import {storeImage, streamOf, tempDir} from '../support/layout.ts'
import {testPace} from '../support/pace.ts'

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

async function scratch(): Promise<string> {
  const {dir, cleanup} = await tempDir('tree-symlinks')
  cleanups.push(cleanup)
  return dir
}

/** The stores of a run with `oci:TARGET/` as target prefix and quay.io served from `oci:SOURCE/`. */
function stores(target: string, source: string) {
  return connectStores(
    {targetRepoPrefix: `oci:${target}/`, mirrors: {'quay.io': `oci:${source}/`}, insecureRegistries: [], env: {}, certsDirs: [], pace: testPace()},
    'test',
  )
}

describe('a layout tree is bounded by its named directory', () => {
  test('a target repository directory symlinked out of the tree is not written through', async () => {
    const dir = await scratch()
    await mkdir(join(dir, 'mirror'))
    await mkdir(join(dir, 'outside'))
    await symlink(join(dir, 'outside'), join(dir, 'mirror', 'library'))
    const repo = (await stores(join(dir, 'mirror'), join(dir, 'in'))).repository({registry: LAYOUT_REGISTRY, repository: 'library/busybox'})
    const image = makeImage({flavor: 'oci', layers: 0})
    const err = await rejectedWith(
      LayoutError,
      repo.putBlob({digest: image.config.digest, size: image.config.bytes.length, open: async () => streamOf(image.config.bytes)}),
    )
    expect(err.code).toBe('OUTSIDE_LAYOUT')
    expect(err.message).toContain(join(dir, 'mirror', 'library'))
    expect(await readdir(join(dir, 'outside'))).toStrictEqual([])
  })

  test('a source registry directory symlinked out of the tree is not read', async () => {
    const dir = await scratch()
    const elsewhere = await openLayout(join(dir, 'elsewhere', 'acme', 'app'), {create: true, pace: testPace()})
    await storeImage(elsewhere, makeImage({flavor: 'oci'}), 'v1')
    await mkdir(join(dir, 'in'))
    await symlink(join(dir, 'elsewhere'), join(dir, 'in', 'quay.io'))
    const repo = (await stores(join(dir, 'mirror'), join(dir, 'in'))).repository({registry: 'quay.io', repository: 'acme/app'})
    expect((await rejectedWith(LayoutError, repo.headManifest('v1'))).code).toBe('OUTSIDE_LAYOUT')
  })

  test('a symlink that stays inside the tree is followed', async () => {
    const dir = await scratch()
    const real = await openLayout(join(dir, 'in', 'real', 'acme', 'app'), {create: true, pace: testPace()})
    const image = makeImage({flavor: 'oci'})
    await storeImage(real, image, 'v1')
    await symlink(join(dir, 'in', 'real'), join(dir, 'in', 'quay.io'))
    const repo = (await stores(join(dir, 'mirror'), join(dir, 'in'))).repository({registry: 'quay.io', repository: 'acme/app'})
    expect((await repo.headManifest('v1'))?.digest).toBe(image.digest)
  })
})

describe('apply --target-repo-prefix oci:DIR/ compares resolved directories', () => {
  test('a plan prefix under the named one through a symlink leading out is refused', async () => {
    const dir = await scratch()
    await mkdir(join(dir, 'mirror'))
    await mkdir(join(dir, 'outside'))
    await symlink(join(dir, 'outside'), join(dir, 'mirror', 'evil'))
    const err = await rejectedWith(
      PlanBindingError,
      checkPlanBinding(emptyPlan(`oci:${dir}/mirror/evil/`), 'p.json', {targetRepoPrefix: `oci:${dir}/mirror/`}, {}),
    )
    expect(err.code).toBe('OUTSIDE_TARGET')
  })

  test('directories that do not exist yet compare as written, and a symlinked named directory is its target', async () => {
    const dir = await scratch()
    await checkPlanBinding(emptyPlan(`oci:${dir}/new/sub/`), 'p.json', {targetRepoPrefix: `oci:${dir}/new/`}, {})
    await mkdir(join(dir, 'real'))
    await symlink(join(dir, 'real'), join(dir, 'alias'))
    await checkPlanBinding(emptyPlan(`oci:${dir}/real/sub/`), 'p.json', {targetRepoPrefix: `oci:${dir}/alias/`}, {})
    await rejectedWith(PlanBindingError, checkPlanBinding(emptyPlan(`oci:${dir}/new2/`), 'p.json', {targetRepoPrefix: `oci:${dir}/new/`}, {}))
  })
})
