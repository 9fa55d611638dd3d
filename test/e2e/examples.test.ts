/** The shipped examples stay in step with the CLI: valid YAML, a valid definition, and flags the CLI accepts. */
import {describe, expect, test} from 'bun:test'
import {readdir, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse, parseAllDocuments} from 'yaml'
import {parseDefinition} from '../../src/definition/load.ts'
import {runCli} from '../integration/scenario.ts'

const EXAMPLES = join(import.meta.dir, '../../examples')

/** The command line parsed (oclif's usage errors exit 2): it then failed on the files missing here, with exit 1. */
function expectAccepted(run: {exitCode: number; stderr: string}): void {
  expect(run.stderr).not.toMatch(/Nonexistent flag|Unexpected argument|Missing required flag|Expected --/)
  expect(run.exitCode).toBe(1)
}

interface PodSpec {
  containers: Array<{args: string[]; env: Array<{name: string; value: string}>}>
  volumes: Array<{name: string; secret?: {secretName: string}; configMap?: {name: string}}>
}

describe('examples/kubernetes', () => {
  test('a Job and a CronJob run the same command with the Secret as REGISTRY_AUTH_FILE and the ConfigMap definition', async () => {
    const objects: Array<{kind: string; metadata: {name: string}; data?: Record<string, string>; spec: Record<string, unknown>}> = []
    for (const file of await readdir(join(EXAMPLES, 'kubernetes'))) {
      for (const doc of parseAllDocuments(await readFile(join(EXAMPLES, 'kubernetes', file), 'utf8'))) {
        expect(doc.errors).toEqual([])
        objects.push(doc.toJS())
      }
    }
    const byKind = (kind: string) => objects.find((o) => o.kind === kind)!
    const job = (byKind('Job').spec as {template: {spec: PodSpec}}).template.spec
    const cron = (byKind('CronJob').spec as {jobTemplate: {spec: {template: {spec: PodSpec}}}}).jobTemplate.spec.template.spec
    expect(cron.containers[0]!.args).toEqual(job.containers[0]!.args)
    for (const pod of [job, cron]) {
      expect(pod.containers[0]!.env).toContainEqual({name: 'REGISTRY_AUTH_FILE', value: '/auth/auth.json'})
      expect(pod.volumes).toContainEqual({name: 'auth', secret: {secretName: byKind('Secret').metadata.name}})
      expect(pod.volumes).toContainEqual({name: 'definition', configMap: {name: byKind('ConfigMap').metadata.name}})
    }
    const definition = byKind('ConfigMap').data!['external-images.yaml']!
    expect(parseDefinition('external-images.yaml', definition, '0'.repeat(64)).entries.length).toBeGreaterThan(0)
    expectAccepted(await runCli(job.containers[0]!.args, {cwd: tmpdir()}))
  })
})

describe('examples/github', () => {
  test('the workflows use the action with commands the CLI accepts', async () => {
    for (const name of ['plan.yml', 'apply.yml']) {
      const workflow = parse(await readFile(join(EXAMPLES, 'github', name), 'utf8')) as {jobs: Record<string, {steps: Array<{uses?: string; with?: {args?: string}}>}>}
      const step = Object.values(workflow.jobs)[0]!.steps.find((s) => s.uses?.includes('/image-syncer@'))!
      const words = step.with!.args!.split(/\s+/).filter(Boolean).map((w) => w.replace(/^"\$\w+"$/, 'registry.example/x/'))
      expectAccepted(await runCli(words, {cwd: tmpdir()}))
    }
  })
})
