/** The shipped examples stay in step with the CLI: valid YAML, a valid definition, and flags the CLI accepts. */
import {describe, expect, test} from 'bun:test'
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse, parseAllDocuments} from 'yaml'
import {parseDefinition} from '../../src/definition/load.ts'
import {renderPlan} from '../../src/views/plan.ts'
import {largePlan} from '../support/large-plan.ts'
import {runCli} from '../integration/scenario.ts'

const EXAMPLES = join(import.meta.dir, '../../examples')
const SHARDED_JOB = 'apply-sharded-job.yaml'

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
  type K8sObject = {kind: string; metadata: {name: string; annotations?: Record<string, string>}; data?: Record<string, string>; spec: Record<string, unknown>}
  async function objectsOf(file: string): Promise<K8sObject[]> {
    const objects: K8sObject[] = []
    for (const doc of parseAllDocuments(await readFile(join(EXAMPLES, 'kubernetes', file), 'utf8'))) {
      expect(doc.errors).toEqual([])
      objects.push(doc.toJS())
    }
    return objects
  }
  const podOf = (job: K8sObject) =>
    (job.spec as {template: {metadata?: {labels?: Record<string, string>}; spec: PodSpec & {serviceAccountName?: string}}}).template

  test('a Job and a CronJob run the same command as a ServiceAccount with a cloud identity, the ConfigMap definition, no Secret', async () => {
    const files = (await readdir(join(EXAMPLES, 'kubernetes'))).filter((f) => f.endsWith('.yaml'))
    expect(files.filter((f) => f.startsWith('serviceaccount-')).sort()).toEqual([
      'serviceaccount-aks.yaml',
      'serviceaccount-eks.yaml',
      'serviceaccount-gke.yaml',
    ])
    const [job] = await objectsOf('job.yaml')
    const [cron] = await objectsOf('cronjob.yaml')
    const [configMap] = await objectsOf('definition.yaml')
    const jobPod = podOf(job!)
    const cronPod = (cron!.spec as {jobTemplate: {spec: K8sObject['spec']}}).jobTemplate.spec as unknown as K8sObject['spec']
    const cronTemplate = podOf({...cron!, spec: cronPod})
    expect(cronTemplate.spec.containers[0]!.args).toEqual(jobPod.spec.containers[0]!.args)
    // Each cloud's ServiceAccount is the one the pods run as, annotated as that cloud's workload identity wants.
    const annotations: Record<string, string> = {
      'serviceaccount-gke.yaml': 'iam.gke.io/gcp-service-account',
      'serviceaccount-eks.yaml': 'eks.amazonaws.com/role-arn',
      'serviceaccount-aks.yaml': 'azure.workload.identity/client-id',
    }
    for (const [file, annotation] of Object.entries(annotations)) {
      const [account] = await objectsOf(file)
      expect(account!.kind).toBe('ServiceAccount')
      expect(Object.keys(account!.metadata.annotations ?? {})).toEqual([annotation])
      for (const pod of [jobPod, cronTemplate]) expect(pod.spec.serviceAccountName).toBe(account!.metadata.name)
    }
    for (const pod of [jobPod, cronTemplate]) {
      // AKS only projects the token into pods that ask with this label.
      expect(pod.metadata?.labels).toEqual({'azure.workload.identity/use': 'true'})
      expect(pod.spec.containers[0]!.env.map((e) => e.name)).not.toContain('REGISTRY_AUTH_FILE')
      expect(pod.spec.volumes.filter((v) => v.secret)).toEqual([])
      expect(pod.spec.volumes).toContainEqual({name: 'definition', configMap: {name: configMap!.metadata.name}})
    }
    const definition = configMap!.data!['external-images.yaml']!
    expect(parseDefinition('external-images.yaml', definition, '0'.repeat(64)).entries.length).toBeGreaterThan(0)
    expectAccepted(await runCli(jobPod.spec.containers[0]!.args, {cwd: tmpdir()}))
  })

  test('the Secret variant runs the same command with the Secret as REGISTRY_AUTH_FILE', async () => {
    const [job] = await objectsOf('job.yaml')
    const [withSecret] = await objectsOf('job-with-secret.yaml')
    const [secret] = await objectsOf('secret.yaml')
    const pod = podOf(withSecret!).spec
    expect(pod.containers[0]!.args).toEqual(podOf(job!).spec.containers[0]!.args)
    expect(pod.containers[0]!.env).toContainEqual({name: 'REGISTRY_AUTH_FILE', value: '/auth/auth.json'})
    expect(pod.volumes).toContainEqual({name: 'auth', secret: {secretName: secret!.metadata.name}})
    expect(pod.volumes).toContainEqual({name: 'definition', configMap: {name: 'image-syncer-definition'}})
  })

  test('the Indexed Job applies one shard per pod: --shards is the completions, the plan from a ConfigMap, the release image', async () => {
    const job = parse(await readFile(join(EXAMPLES, 'kubernetes', SHARDED_JOB), 'utf8')) as {
      kind: string
      spec: {completionMode: string; completions: number; template: {spec: PodSpec & {containers: Array<{image: string}>}}}
    }
    expect({kind: job.kind, mode: job.spec.completionMode}).toEqual({kind: 'Job', mode: 'Indexed'})
    const pod = job.spec.template.spec
    const args = pod.containers[0]!.args
    expect(args.slice(0, 2)).toEqual(['apply', '/plan/plan.json'])
    expect(args[args.indexOf('--shards') + 1]).toBe(String(job.spec.completions))
    expect(pod.containers[0]!.image).toStartWith('ghcr.io/OWNER/image-syncer:')
    expect(pod.volumes).toContainEqual({name: 'plan', configMap: {name: 'image-syncer-plan'}})
    expect(pod.volumes).toContainEqual({name: 'auth', secret: {secretName: 'image-syncer-auth'}})
    // Kubernetes expands $(JOB_COMPLETION_INDEX) and sets the variable; the run then fails on the missing plan.
    const run = await runCli(
      args.map((a) => a.replace('$(JOB_COMPLETION_INDEX)', '0')),
      {cwd: tmpdir(), env: {JOB_COMPLETION_INDEX: '0'}},
    )
    expectAccepted(run)
    expect(run.stderr).toContain('/plan/plan.json')
  })
})

describe('examples/github', () => {
  test('the workflows use the action with commands the CLI accepts', async () => {
    for (const name of ['plan.yml', 'apply.yml']) {
      const workflow = parse(await readFile(join(EXAMPLES, 'github', name), 'utf8')) as {
        jobs: Record<string, {steps: Array<{uses?: string; with?: {args?: string}}>}>
      }
      const step = Object.values(workflow.jobs)[0]!.steps.find((s) => s.uses?.includes('/image-syncer@'))!
      const words = step
        .with!.args!.split(/\s+/)
        .filter(Boolean)
        .map((w) => w.replace(/^"\$\w+"$/, 'registry.example/x/'))
      expectAccepted(await runCli(words, {cwd: tmpdir()}))
    }
  })
})

describe('examples/github/apply-workload-identity.yml', () => {
  test('one job per cloud logs in with the OIDC token, holds no stored secret, and runs a command the CLI accepts', async () => {
    type Step = {uses?: string; run?: string; with?: {args?: string}; env?: Record<string, string>}
    const text = await readFile(join(EXAMPLES, 'github', 'apply-workload-identity.yml'), 'utf8')
    const workflow = parse(text) as {permissions: Record<string, string>; jobs: Record<string, {if: string; steps: Step[]}>}
    expect(text).not.toContain('secrets.')
    expect(workflow.permissions['id-token']).toBe('write')
    const login: Record<string, (s: Step) => boolean> = {
      gcp: (s) => s.uses?.startsWith('google-github-actions/auth@') === true,
      aws: (s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@') === true,
      azure: (s) => s.run?.includes('AZURE_FEDERATED_TOKEN_FILE=') === true,
    }
    expect(Object.keys(workflow.jobs)).toEqual(Object.keys(login))
    for (const [cloud, job] of Object.entries(workflow.jobs)) {
      expect(job.if).toBe(`vars.MIRROR_CLOUD == '${cloud}'`)
      const loginAt = job.steps.findIndex(login[cloud]!)
      const runAt = job.steps.findIndex((s) => s.uses?.includes('/image-syncer@'))
      expect(loginAt).toBeGreaterThan(-1)
      expect(runAt).toBeGreaterThan(loginAt)
      const words = job.steps[runAt]!.with!.args!.split(/\s+/)
        .filter(Boolean)
        .map((w) => w.replace(/^"\$\w+"$/, 'registry.example/x/'))
      expectAccepted(await runCli(words, {cwd: tmpdir()}))
    }
  })
})

describe('examples/github/plan.yml checkout and credentials', () => {
  interface Step {
    uses?: string
    if?: string
    run?: string
    env?: Record<string, string>
    with?: Record<string, string>
  }
  type Workflow = {on: Record<string, unknown>; jobs: Record<string, {environment?: unknown; steps: Step[]}>}
  const BRANCH = 'add-nginx'

  /** `${{ … }}` from a pull_request event's context; an expression the test does not know fails it. */
  const expand = (text: string, context: Record<string, string>) =>
    text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
      if (!(expr in context)) throw new Error(`the test has no value for ${expr}`)
      return context[expr]!
    })
  const git = (cwd: string, ...args: string[]) => {
    const r = Bun.spawnSync(['git', '-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], {cwd, stdout: 'pipe', stderr: 'pipe'})
    if (r.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.toString()}`)
    return r.stdout.toString().trim()
  }
  /** A repository on main with BRANCH one commit ahead, holding `definition`; returns BRANCH's commit. */
  async function repository(dir: string, definition: string): Promise<string> {
    await mkdir(dir, {recursive: true})
    git(dir, 'init', '-q', '-b', 'main')
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'start')
    git(dir, 'checkout', '-q', '-b', BRANCH)
    await writeFile(join(dir, 'external-images.yaml'), definition)
    git(dir, 'add', '.')
    git(dir, 'commit', '-q', '-m', 'definition')
    const head = git(dir, 'rev-parse', 'HEAD')
    git(dir, 'checkout', '-q', 'main')
    return head
  }
  /** What actions/checkout does with `repository` (default the workflow's own) and `ref`: fetch it, check it out detached. */
  function checkout(step: Step, context: Record<string, string>, urls: Record<string, string>, into: string): void {
    const repo = step.with?.repository === undefined ? context['github.repository']! : expand(step.with.repository, context)
    git(into, 'init', '-q')
    git(into, 'remote', 'add', 'origin', urls[repo]!)
    git(into, 'fetch', '-q', '--depth=1', 'origin', expand(step.with!.ref!, context))
    git(into, 'checkout', '-q', '--detach', 'FETCH_HEAD')
  }

  async function scenario(fork: boolean) {
    const dir = await mkdtemp(join(tmpdir(), 'plan-checkout-'))
    const base = await repository(join(dir, 'acme'), '- source: "base:1"\n')
    const head = fork ? await repository(join(dir, 'fork'), '- source: "fork:1"\n') : base
    const context = {
      'github.repository': 'acme/mirror',
      'github.head_ref': BRANCH,
      'github.event.pull_request.head.repo.full_name': fork ? 'someone/mirror' : 'acme/mirror',
      'github.event.pull_request.head.sha': head,
    }
    const urls = {'acme/mirror': `file://${join(dir, 'acme')}`, 'someone/mirror': `file://${join(dir, 'fork')}`}
    const workflow = parse(await readFile(join(EXAMPLES, 'github', 'plan.yml'), 'utf8')) as Workflow
    const job = workflow.jobs.plan!
    const work = join(dir, 'work')
    await mkdir(work)
    checkout(job.steps.find((s) => s.uses?.startsWith('actions/checkout@'))!, context, urls, work)
    return {dir, work, head, context, workflow, job}
  }

  test("a fork's pull request is planned from the fork's head commit, in a job that holds no push credential", async () => {
    const {dir, work, head, workflow, job} = await scenario(true)
    expect(git(work, 'rev-parse', 'HEAD')).toBe(head)
    expect(await readFile(join(work, 'external-images.yaml'), 'utf8')).toBe('- source: "fork:1"\n')
    await rm(dir, {recursive: true, force: true})
    // The fork's files run under pull_request: read-only token, no secrets; and not the apply job's environment.
    expect(Object.keys(workflow.on)).toEqual(['pull_request'])
    expect(job.environment).toBeUndefined()
    const apply = await readFile(join(EXAMPLES, 'github', 'apply.yml'), 'utf8')
    const pushSecrets = [...apply.matchAll(/secrets\.(\w+)/g)].map((m) => m[1])
    expect(pushSecrets.length).toBeGreaterThan(0)
    const planSecrets = [...(await readFile(join(EXAMPLES, 'github', 'plan.yml'), 'utf8')).matchAll(/secrets\.(\w+)/g)].map((m) => m[1])
    expect(planSecrets.filter((s) => pushSecrets.includes(s))).toEqual([])
  })

  test('a same-repository pull request gets the refreshed plan committed onto its branch from the detached head', async () => {
    const {dir, work, context, job} = await scenario(false)
    await mkdir(join(work, 'plans'))
    await writeFile(join(work, 'plans', 'external-images.plan.json'), '{"formatVersion":1}\n')
    const commit = job.steps.find((s) => s.run?.includes('git push'))!
    expect(commit.if).toBe('github.event.pull_request.head.repo.full_name == github.repository')
    const env = Object.fromEntries(Object.entries(commit.env ?? {}).map(([k, v]) => [k, expand(v, context)]))
    const r = Bun.spawnSync(['bash', '--noprofile', '--norc', '-eo', 'pipefail', '-c', commit.run!], {
      cwd: work,
      env: {PATH: process.env.PATH ?? '', HOME: dir, ...env},
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(r.stderr.toString()).not.toContain('fatal')
    expect(r.exitCode).toBe(0)
    expect(git(join(dir, 'acme'), 'show', `${BRANCH}:plans/external-images.plan.json`)).toBe('{"formatVersion":1}')
    await rm(dir, {recursive: true, force: true})
  })
})

describe('examples/github/plan.yml comment step', () => {
  /** Runs the step's github-script with GitHub's objects standing in, and returns the comment it would create. */
  async function commentFor(markdown: string): Promise<string> {
    const workflow = parse(await readFile(join(EXAMPLES, 'github', 'plan.yml'), 'utf8')) as {
      jobs: Record<string, {steps: Array<{uses?: string; with?: {script?: string}}>}>
    }
    const script = Object.values(workflow.jobs)[0]!.steps.find((s) => s.uses?.startsWith('actions/github-script'))!.with!.script!
    const dir = await mkdtemp(join(tmpdir(), 'plan-comment-'))
    await writeFile(join(dir, 'plan.md'), markdown)
    const created: string[] = []
    const github = {
      paginate: async () => [],
      rest: {issues: {listComments: null, updateComment: null, createComment: async ({body}: {body: string}) => created.push(body)}},
    }
    const context = {repo: {owner: 'acme', repo: 'mirror'}, issue: {number: 7}, serverUrl: 'https://github.com', runId: 42}
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>
    await new AsyncFunction('require', 'process', 'context', 'github', script)(require, {env: {PLAN_FILE: join(dir, 'plan.md')}}, context, github)
    await rm(dir, {recursive: true, force: true})
    expect(created).toHaveLength(1)
    return created[0]!
  }

  test('a small plan is commented whole', async () => {
    const markdown = renderPlan(largePlan({count: 10}), 'markdown')
    expect(await commentFor(markdown)).toBe(`<!-- image-syncer-plan -->\n### image-syncer plan\n\n${markdown}`)
  })

  test("a 10,000-entry plan keeps its summary and conflicts under GitHub's 65,536 characters and links the rest", async () => {
    const markdown = renderPlan(largePlan({count: 10_000}), 'markdown')
    expect(markdown.length).toBeGreaterThan(65_536)
    const body = await commentFor(markdown)
    expect(body.length).toBeLessThanOrEqual(65_536)
    expect(body).toContain(markdown.slice(0, markdown.indexOf('<details>')))
    expect(body).toContain('https://github.com/acme/mirror/actions/runs/42')
    expect(body).not.toContain('<details>')
  })
})

describe('examples/github/apply-sharded.yml', () => {
  test('each matrix shard runs apply --shard with --result, and the report job merges the results', async () => {
    const workflow = parse(await readFile(join(EXAMPLES, 'github', 'apply-sharded.yml'), 'utf8')) as {
      jobs: Record<string, {strategy?: {matrix: {shard: number[]}}; steps: Array<{uses?: string; with?: {args?: string}}>}>
    }
    expect(workflow.jobs.apply!.strategy!.matrix.shard).toEqual([1, 2, 3, 4])
    const commands = Object.values(workflow.jobs).map((job) => job.steps.find((s) => s.uses?.includes('/image-syncer@'))!.with!.args!)
    expect(commands.map((c) => c.split(/\s+/)[0])).toEqual(['apply', 'report'])
    for (const command of commands) {
      // As the action's `eval "set -- $ARGS"` would: $SHARD is the matrix value, the other variables some value.
      const words = command
        .split(/\s+/)
        .filter((w) => w && !w.startsWith('#'))
        .map((w) =>
          w
            .replaceAll('$SHARD', '1')
            .replace(/^"\$\w+"$/, 'registry.example/x/')
            .replace(/^"(.*)"$/, '$1'),
        )
      const run = await runCli(words, {cwd: tmpdir()})
      expectAccepted(run)
    }
  })
})
