/**
 * `image-syncer schema`: the JSON Schema editors validate definition files with. Every example definition of the
 * README (and plans/) validates against the printed schema, known-bad files do not, and every key is described.
 * Validation uses the printed JSON, not our typebox objects, so what an editor gets is what is tested.
 */
import {beforeAll, describe, expect, test} from 'bun:test'
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import Value from 'typebox/value'
import {parse} from 'yaml'
import {runCli} from './scenario.ts'

const ROOT = join(import.meta.dir, '../..')
let schema: Record<string, unknown>

beforeAll(async () => {
  const run = await runCli(['schema'])
  expect(run.exitCode).toBe(0)
  schema = JSON.parse(run.stdout) as Record<string, unknown>
})

/**
 * The ```yaml blocks of a Markdown file: by the docs' convention each is a definition (or a definition's
 * `signatures:` fragment); other YAML, such as a GitHub workflow step, is fenced ```yml.
 */
async function yamlExamples(file: string): Promise<Array<{where: string; value: unknown}>> {
  const text = await readFile(file, 'utf8')
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
  return blocks.map((m) => {
    const line = text.slice(0, m.index).split('\n').length
    const value = parse(m[1]!) as Record<string, unknown>
    // A fragment that shows one block (signatures:) is a definition once it has its images.
    return {where: `${file}:${line}`, value: 'images' in value ? value : {...value, images: []}}
  })
}

describe('image-syncer schema', () => {
  test('prints a draft-07 schema whose every key has a description', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#')
    const undescribed: string[] = []
    const walk = (node: Record<string, unknown>, path: string) => {
      const properties = (node.properties ?? {}) as Record<string, Record<string, unknown>>
      for (const [key, child] of Object.entries(properties)) {
        if (typeof child.description !== 'string' || child.description === '') undescribed.push(`${path}.${key}`)
        walk(child, `${path}.${key}`)
      }
      if (node.items) walk(node.items as Record<string, unknown>, `${path}[]`)
    }
    walk(schema, '')
    expect(undescribed).toEqual([])
  })

  test('every example definition of the README and plans/ validates', async () => {
    const markdown = ['README.md', ...(await readdir(join(ROOT, 'plans'))).filter((f) => f.endsWith('.md')).map((f) => join('plans', f))]
    const examples = (await Promise.all(markdown.map((f) => yamlExamples(join(ROOT, f))))).flat()
    expect(examples.length).toBeGreaterThan(0)
    const invalid = examples.filter((e) => !Value.Check(schema, e.value)).map((e) => e.where)
    expect(invalid).toEqual([])
  })

  test.each([
    ['a misspelt key', {images: [{source: 'a:1', amd64only: true}]}],
    ['a tag written as a number', {images: [{source: 'a', tag: 1.32}]}],
    ['an unknown verify mode', {signatures: {verify: 'always'}, images: []}],
    ['a misspelt tag rule key', {images: [{source: 'a', tags: {semvr: '>=1'}}]}],
    ['latest: 0', {images: [{source: 'a', tags: {latest: 0}}]}],
    ['maxTags as a string', {images: [{source: 'a', tags: {all: true, maxTags: '10'}}]}],
    ['an empty target', {images: [{source: 'a:1', target: ''}]}],
    ['no images', {targetRepoPrefix: 'r.io/x/'}],
  ])('a known-bad file does not validate: %s', (_, value) => {
    expect(Value.Check(schema, value)).toBe(false)
  })

  test('the new keys validate as documented', () => {
    const good = {
      targetRepoPrefix: 'eu.gcr.io/kyma-project/external/',
      images: [
        {source: 'bitnami/redis', tags: {semver: '>=7.2 <8', exclude: ['*-debian-11-*'], latest: 3}, target: 'tools/redis'},
        {source: 'quay.io/prometheus/node-exporter', tags: {regex: '^v1\\.[89]\\.\\d+$', maxTags: 20}},
        {source: 'redis:7.2.4', target: 'tools/redis-single'},
      ],
    }
    expect(Value.Check(schema, good)).toBe(true)
  })
})
