/**
 * The layering rule of src/: a layer imports only layers of lower rank (plus a few named same-rank pairs),
 * so the pure layers (ref, oci) never grow I/O and the domain never depends on the CLI; and no files import each
 * other in a circle, within a layer or across, so every file can be read (and tested) after what it imports; and
 * below commands/, nothing pauses or reads the clock but through the run's Pace, which a test makes wait for nothing.
 */
import {describe, expect, test} from 'bun:test'
import {readFileSync} from 'node:fs'
import {join, posix, relative, sep} from 'node:path'

const ROOT = join(import.meta.dir, '..')
const SRC = join(ROOT, 'src')

/** Rank of each layer (a directory of src/, or a top-level file of src/). */
const RANKS: Readonly<Record<string, number>> = {
  ref: 0,
  oci: 1,
  // Bounded reading of the files a user names (definition, plan, keys, configs); every layer above reads some.
  files: 2,
  transport: 3,
  auth: 3,
  // Stores: the registry client and the OCI image layout, both behind one repository handle (registry/handle.ts).
  registry: 4,
  // The one copy engine (manifest trees and blobs between two handles), used by apply and by signature carrying.
  copy: 5,
  // Signature discovery, verification and copying sit on the handles and serve definition, plan and apply.
  signatures: 6,
  definition: 7,
  plan: 7,
  apply: 7,
  // The one-shot mode composes plan and apply, so it sits just above both.
  sync: 8,
  views: 9,
  commands: 10,
  'commands.ts': 11,
  // One invocation (argv in, exit code out), shared by the entry point and the tests' in-process runner.
  'main.ts': 11,
  'cli.ts': 11,
}

/**
 * The two implementations behind RepositoryHandle (registry/handle.ts): the registry's (raw requests, blob
 * uploads, tag lists, referrers) and the OCI image layout's. Layers above reach stores only through handles and
 * Stores, never into either.
 */
const STORE_IMPLEMENTATIONS = ['src/registry/remote/', 'src/registry/layout/']
function isStoreImplementation(path: string): boolean {
  return STORE_IMPLEMENTATIONS.some((prefix) => path.startsWith(prefix))
}

/** The one file outside src/ that source may import: the package manifest, for the version. */
const ALLOWED_OUTSIDE_SRC: ReadonlySet<string> = new Set(['package.json'])

/** Same-rank imports between different layers that are allowed, as `from→to`. */
const ALLOWED_SAME_RANK: ReadonlySet<string> = new Set([
  // The transport spends credentials; auth's types describe them.
  'transport→auth',
  'auth→transport',
  // Planning reads the definition. (apply must not: it acts on the plan file alone.)
  'plan→definition',
  // Apply executes the plan file: it reads plan's model and file reader, never the definition (APPLY_READS_OF_PLAN).
  'apply→plan',
  // The entry point may load the command table, and runs the process's invocation.
  'cli.ts→commands.ts',
  'cli.ts→main.ts',
])

/**
 * What apply may read of plan/: the plan file (its model and its reader), and what binding.ts checks the file
 * against before anything is sent (that it holds together; that it follows from the reviewed definition). The
 * rest of plan/ is the planner: apply decodes each entry once (apply/step.ts) and never climbs back into it
 * (policy records, platform selection) while copying. Signature and copy code sit below plan and never read it.
 */
const APPLY_READS_OF_PLAN: ReadonlySet<string> = new Set([
  'src/plan/model.ts',
  'src/plan/planfile.ts',
  'src/plan/consistency.ts',
  'src/plan/definition-match.ts',
])
const NEVER_READ_PLAN = ['src/signatures/', 'src/copy/']

const MAX_LINES = 400

interface SourceFile {
  /** Path relative to the repository root, with `/`, e.g. `src/plan/build.ts`. */
  path: string
  text: string
}

/** The text without block comments and whole-line `//` comments (not `//` inside strings): comments may quote code. */
function codeOf(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

/** Relative specifiers of static imports, re-exports, side-effect imports and dynamic imports. */
function importSpecifiers(text: string): string[] {
  const code = codeOf(text)
  const patterns = [
    /(?:^|[\s;])(?:import|export)\b[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /(?:^|[\s;])import\s*(['"])([^'"]+)\1/g,
    /\bimport\s*\(\s*(['"`])([^'"`]+)\1\s*\)/g,
  ]
  const found: string[] = []
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[2]!
      if (specifier.startsWith('./') || specifier.startsWith('../')) found.push(specifier)
    }
  }
  return found
}

/** The layer a `src/`-relative path belongs to, or null when it is outside src/. */
function layerOf(pathFromRoot: string): string | null {
  const parts = pathFromRoot.split('/')
  if (parts[0] !== 'src' || parts.length < 2) return null
  // `src/plan/build.ts` → `plan`; a top-level file is its own layer: `src/cli.ts` → `cli.ts`.
  return parts[1]!
}

/** Every import that breaks the layering rule, as `file → specifier (why)`. */
function findViolations(files: readonly SourceFile[]): string[] {
  const violations: string[] = []
  for (const file of files) {
    const from = layerOf(file.path)
    if (from === null) continue
    const fromRank = RANKS[from]
    if (fromRank === undefined) {
      violations.push(`${file.path}: layer "${from}" has no rank (add it to RANKS in test/architecture.test.ts)`)
      continue
    }
    for (const specifier of importSpecifiers(file.text)) {
      const target = importTarget(file, specifier)
      const to = layerOf(target)
      if (to === null && !ALLOWED_OUTSIDE_SRC.has(target)) violations.push(`${file.path} → ${specifier} (imports leave src/)`)
      if (from !== 'registry' && isStoreImplementation(target)) violations.push(`${file.path} → ${specifier} (registry internals: use a RepositoryHandle)`)
      if (to === null || to === from) continue
      const toRank = RANKS[to]
      const where = `${file.path} → ${specifier}`
      if (toRank === undefined) violations.push(`${where} (layer "${to}" has no rank)`)
      else if (toRank > fromRank) violations.push(`${where} (${from} [${fromRank}] must not import ${to} [${toRank}])`)
      else if (toRank === fromRank && !ALLOWED_SAME_RANK.has(`${from}→${to}`)) violations.push(`${where} (${from} and ${to} are both rank ${fromRank})`)
    }
  }
  return violations
}

/**
 * Below commands/, waiting and the clock are the run's Pace (src/transport/retry.ts), made by the command and
 * handed down: a pause or a read of the time of a file's own would escape it, and tests could no longer pass a
 * pace that waits for nothing. Timeouts, which bound real time by nature, and the progress display keep timers.
 */
const OWN_TIMERS: Readonly<Record<string, string>> = {
  'src/transport/watchdog.ts': 'the idle timeout of an exchange',
  'src/transport/tls-probe.ts': 'the timeout of a TLS probe',
  'src/auth/cred-helper.ts': 'the timeout of a credential helper',
  'src/views/progress.ts': 'redraw ticks and the elapsed time shown',
}
const PACING = /\bsetTimeout\s*\(|\bBun\.sleep\s*\(|\bDate\.now\b/

/** Every file below commands/ that sleeps or reads the clock on its own, as `file: why`. */
function findOwnPacing(files: readonly SourceFile[]): string[] {
  return files
    .filter((file) => {
      const layer = layerOf(file.path)
      const rank = layer === null ? undefined : RANKS[layer]
      return rank !== undefined && rank < RANKS.commands! && !(file.path in OWN_TIMERS) && PACING.test(codeOf(file.text))
    })
    .map((file) => `${file.path}: waits or reads the clock itself (take the run's Pace)`)
}

/** Every import of plan/ from code that must not read it, or from apply beyond the plan file, as `file → specifier (why)`. */
function findPlanReaches(files: readonly SourceFile[]): string[] {
  const violations: string[] = []
  for (const file of files) {
    const below = NEVER_READ_PLAN.some((prefix) => file.path.startsWith(prefix))
    if (!below && !file.path.startsWith('src/apply/')) continue
    for (const specifier of importSpecifiers(file.text)) {
      const target = importTarget(file, specifier)
      if (!target.startsWith('src/plan/')) continue
      if (below) violations.push(`${file.path} → ${specifier} (signatures and copy never read plan/)`)
      else if (!APPLY_READS_OF_PLAN.has(target))
        violations.push(
          `${file.path} → ${specifier} (apply reads of plan/ only ${[...APPLY_READS_OF_PLAN].map((p) => p.slice('src/plan/'.length)).join(', ')})`,
        )
    }
  }
  return violations
}

/** The file a relative specifier of `file` names, as a path from the repository root. */
function importTarget(file: SourceFile, specifier: string): string {
  return posix.normalize(posix.join(posix.dirname(file.path), specifier))
}

/**
 * Every set of files that import each other in a circle (type-only imports too: they tie the files together just
 * the same for a reader), as `import cycle: a → b → … → a`, one line per strongly connected component.
 */
function findCycles(files: readonly SourceFile[]): string[] {
  const known = new Set(files.map((f) => f.path))
  const edges = new Map<string, string[]>()
  for (const file of files) {
    const targets = importSpecifiers(file.text)
      .map((specifier) => importTarget(file, specifier))
      .filter((target) => known.has(target))
    edges.set(file.path, [...new Set(targets)].sort())
  }
  // Tarjan's strongly connected components, iterative so that a deep import chain cannot overflow the stack.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  for (const root of [...known].sort()) {
    if (index.has(root)) continue
    const work: {node: string; next: number}[] = [{node: root, next: 0}]
    index.set(root, index.size)
    low.set(root, index.get(root)!)
    stack.push(root)
    onStack.add(root)
    while (work.length > 0) {
      const frame = work.at(-1)!
      const targets = edges.get(frame.node)!
      if (frame.next < targets.length) {
        const target = targets[frame.next++]!
        if (!index.has(target)) {
          index.set(target, index.size)
          low.set(target, index.get(target)!)
          stack.push(target)
          onStack.add(target)
          work.push({node: target, next: 0})
        } else if (onStack.has(target)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!))
        continue
      }
      work.pop()
      const parent = work.at(-1)
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!))
      if (low.get(frame.node) !== index.get(frame.node)) continue
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== frame.node)
      if (component.length > 1 || edges.get(frame.node)!.includes(frame.node)) components.push(component)
    }
  }
  return components.map((component) => `import cycle: ${loopThrough(component, edges).join(' → ')}`).sort()
}

/** One loop through a strongly connected component, from its first file back to it, for the message. */
function loopThrough(component: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(component)
  const start = [...component].sort()[0]!
  // Breadth-first from start to any file that imports start: the shortest loop through it.
  const previous = new Map<string, string>()
  const queue = [start]
  for (let at = 0; at < queue.length; at++) {
    const node = queue[at]!
    for (const target of edges.get(node)!) {
      if (!members.has(target)) continue
      if (target === start) {
        const path = [start]
        for (let back = node; back !== start; back = previous.get(back)!) path.splice(1, 0, back)
        return [...path, start]
      }
      if (!previous.has(target)) {
        previous.set(target, node)
        queue.push(target)
      }
    }
  }
  return [start, start]
}

/**
 * What loads before any command runs, and the packages allowed in it. src/commands.ts: oclif reads every command
 * class for help, for a version and for any run, so the classes carry only their metadata; each command loads its
 * domain modules and views when it runs (a dynamic import). Of packages only oclif loads then, and nothing of
 * sigstore's code (signatures/) or the stores (registry/remote/, registry/layout/). src/cli.ts: the entry point
 * answers a release build's --version before it loads oclif (src/main.ts), so it loads no package at all.
 */
const STARTUP: ReadonlyArray<{entry: string; packages: ReadonlySet<string>}> = [
  {entry: 'src/commands.ts', packages: new Set(['@oclif/core'])},
  {entry: 'src/cli.ts', packages: new Set()},
]
const NOT_AT_STARTUP = ['src/signatures/', 'src/registry/remote/', 'src/registry/layout/']

/**
 * Specifiers of the imports that load a module when the importing one loads: static imports, re-exports and
 * side-effect imports, not type-only ones (erased) or dynamic ones (loaded when reached).
 */
function staticValueImports(text: string): string[] {
  const found: string[] = []
  // The clause holds no call, assignment or string, so a match never runs on from an `export function`.
  for (const match of codeOf(text).matchAll(/^\s*(?:import|export)\s+([^'"`;()=]*?)\s*\bfrom\s*(['"])([^'"]+)\2/gm)) {
    const clause = match[1]!.trim()
    const names = /^\{([^}]*)\}$/
      .exec(clause)?.[1]
      ?.split(',')
      .map((name) => name.trim())
      .filter(Boolean)
    if (/^type\b/.test(clause) || names?.every((name) => name.startsWith('type '))) continue
    found.push(match[3]!)
  }
  for (const match of codeOf(text).matchAll(/^\s*import\s*(['"])([^'"]+)\1/gm)) found.push(match[2]!)
  return found
}

/** The package a bare specifier names: `typebox/value` → `typebox`, `@sigstore/verify` → `@sigstore/verify`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/** Every file and package that loads at start-up but must not, with the chain of static imports that loads it. */
function findStartupLoads(files: readonly SourceFile[], entry: string, packages: ReadonlySet<string>): string[] {
  const byPath = new Map(files.map((f) => [f.path, f]))
  const parent = new Map<string, string | null>([[entry, null]])
  const chain = (path: string) => {
    const links: string[] = []
    for (let at: string | null = path; at !== null; at = parent.get(at) ?? null) links.unshift(at)
    return links.join(' → ')
  }
  const found: string[] = []
  const queue = [entry]
  for (let at = 0; at < queue.length; at++) {
    const file = byPath.get(queue[at]!)
    if (!file) continue
    for (const specifier of staticValueImports(file.text)) {
      if (specifier.startsWith('node:') || specifier.startsWith('bun:')) continue
      if (!specifier.startsWith('.')) {
        if (!packages.has(packageOf(specifier))) found.push(`${chain(file.path)} → ${specifier} (a package at start-up)`)
        continue
      }
      const target = importTarget(file, specifier)
      if (parent.has(target) || !byPath.has(target)) continue
      parent.set(target, file.path)
      if (NOT_AT_STARTUP.some((prefix) => target.startsWith(prefix))) found.push(`${chain(target)} (loaded at start-up)`)
      else queue.push(target)
    }
  }
  return found
}

function sourceFiles(): SourceFile[] {
  const files: SourceFile[] = []
  for (const name of new Bun.Glob('**/*.ts').scanSync({cwd: SRC})) {
    if (name.endsWith('.test.ts')) continue
    const absolute = join(SRC, name)
    files.push({path: relative(ROOT, absolute).split(sep).join('/'), text: readFileSync(absolute, 'utf8')})
  }
  return files.sort((a, b) => a.path.localeCompare(b.path))
}

describe('architecture', () => {
  const files = sourceFiles()

  test('src/ has source files to check', () => {
    expect(files.length).toBeGreaterThan(20)
    expect(files.map((f) => f.path)).toContain('src/plan/build.ts')
  })

  test('no layer imports a layer of higher rank (or a same-rank layer it is not allowed to)', () => {
    expect(findViolations(files)).toStrictEqual([])
  })

  test('no source files import each other in a circle', () => {
    expect(findCycles(files)).toStrictEqual([])
  })

  test("below commands/, only timeouts keep timers: pauses and the clock are the run's Pace", () => {
    expect(findOwnPacing(files)).toStrictEqual([])
  })

  test('signatures/ and copy/ never import plan/; apply/ imports of plan/ only the plan file and what binding checks it against', () => {
    expect(findPlanReaches(files)).toStrictEqual([])
  })

  test('help, a version and every run load only oclif and the command classes: no sigstore, no store, no other package', () => {
    expect(STARTUP.flatMap(({entry, packages}) => findStartupLoads(files, entry, packages))).toStrictEqual([])
  })

  test(`no source file is longer than ${MAX_LINES} lines`, () => {
    const long = files.map((f) => ({path: f.path, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0)})).filter((f) => f.lines > MAX_LINES)
    expect(long.map((f) => `${f.path}: ${f.lines} lines`)).toStrictEqual([])
  })
})

describe('the architecture checker', () => {
  const cases: {name: string; files: SourceFile[]; want: string[]}[] = [
    {
      name: 'a lower layer importing a higher one',
      files: [{path: 'src/oci/manifest.ts', text: "import {RegistryClient} from '../registry/client.ts'\n"}],
      want: ['src/oci/manifest.ts → ../registry/client.ts (oci [1] must not import registry [4])'],
    },
    {
      name: 'a type-only, multi-line import',
      files: [{path: 'src/ref/reference.ts', text: "import type {\n  Plan,\n  PlanEntry,\n} from '../plan/model.ts'\n"}],
      want: ['src/ref/reference.ts → ../plan/model.ts (ref [0] must not import plan [7])'],
    },
    {
      name: 'a re-export',
      files: [{path: 'src/transport/index.ts', text: "export {connectRegistries} from '../registry/connect.ts'\n"}],
      want: ['src/transport/index.ts → ../registry/connect.ts (transport [3] must not import registry [4])'],
    },
    {
      name: 'a dynamic import',
      files: [{path: 'src/registry/client.ts', text: "const views = await import('../views/plan.ts')\n"}],
      want: ['src/registry/client.ts → ../views/plan.ts (registry [4] must not import views [9])'],
    },
    {
      name: 'a side-effect import',
      files: [{path: 'src/views/plan.ts', text: "import '../commands/plan.ts'\n"}],
      want: ['src/views/plan.ts → ../commands/plan.ts (views [9] must not import commands [10])'],
    },
    {
      name: 'a layer importing a top-level file',
      files: [{path: 'src/commands/plan.ts', text: "import {COMMANDS} from '../commands.ts'\n"}],
      want: ['src/commands/plan.ts → ../commands.ts (commands [10] must not import commands.ts [11])'],
    },
    {
      name: 'apply importing definition (same rank, not allowed)',
      files: [{path: 'src/apply/run.ts', text: "import {loadDefinition} from '../definition/load.ts'\n"}],
      want: ['src/apply/run.ts → ../definition/load.ts (apply and definition are both rank 7)'],
    },
    {
      name: 'definition importing plan (same rank, only the other way is allowed)',
      files: [{path: 'src/definition/load.ts', text: "import type {Plan} from '../plan/model.ts'\n"}],
      want: ['src/definition/load.ts → ../plan/model.ts (definition and plan are both rank 7)'],
    },
    {
      name: 'a layer without a rank',
      files: [{path: 'src/util/x.ts', text: ''}],
      want: ['src/util/x.ts: layer "util" has no rank (add it to RANKS in test/architecture.test.ts)'],
    },
    {
      name: 'an import of the registry implementation from above the registry layer',
      files: [{path: 'src/apply/x.ts', text: "import {headBlob} from '../registry/remote/blobs.ts'\nimport type {Stores} from '../registry/handle.ts'\n"}],
      want: ['src/apply/x.ts → ../registry/remote/blobs.ts (registry internals: use a RepositoryHandle)'],
    },
    {
      name: 'an import of the registry or layout implementation from above the registry layer',
      files: [
        {path: 'src/signatures/x.ts', text: "import {listTags} from '../registry/remote/tags.ts'\nimport {openLayout} from '../registry/layout/layout.ts'\n"},
      ],
      want: [
        'src/signatures/x.ts → ../registry/remote/tags.ts (registry internals: use a RepositoryHandle)',
        'src/signatures/x.ts → ../registry/layout/layout.ts (registry internals: use a RepositoryHandle)',
      ],
    },
    {
      name: 'allowed: the registry layer importing its own implementations',
      files: [
        {
          path: 'src/registry/stores.ts',
          text: "import {LayoutRepository} from './layout/repository.ts'\nimport {RegistryRepository} from './remote/repository.ts'\n",
        },
      ],
      want: [],
    },
    {
      name: 'an import leaving src/ (test helpers, scripts)',
      files: [{path: 'src/apply/x.ts', text: "import {seed} from '../../test/support/images.ts'\n"}],
      want: ['src/apply/x.ts → ../../test/support/images.ts (imports leave src/)'],
    },
    {
      name: 'allowed: downward, same layer, the named same-rank pairs, top-level files, packages and files outside src',
      files: [
        {
          path: 'src/plan/build.ts',
          text: "import {x} from '../definition/resolve.ts'\nimport {y} from './model.ts'\nimport {z} from '../ref/digest.ts'\nimport Value from 'typebox/value'\n",
        },
        {path: 'src/transport/transport.ts', text: "import type {Credential} from '../auth/credential.ts'\n"},
        {path: 'src/auth/x.ts', text: "import type {Endpoint} from '../transport/transport.ts'\n"},
        {path: 'src/commands.ts', text: "import {PlanCommand} from './commands/plan.ts'\n"},
        {path: 'src/cli.ts', text: "import pkg from '../package.json'\nimport {COMMANDS} from './commands.ts'\n"},
        {
          path: 'src/oci/x.ts',
          text: "/**\n * Unlike `import {a} from '../registry/client.ts'`, this stays pure.\n */\n// import {b} from '../views/plan.ts'\nexport const url = 'https://example.com/x'\n",
        },
      ],
      want: [],
    },
  ]
  for (const {name, files, want} of cases) {
    test(name, () => {
      expect(findViolations(files)).toStrictEqual(want)
    })
  }

  test('plan reaches: signatures/ or copy/ importing plan/, and apply/ importing the planner', () => {
    const files = [
      {path: 'src/signatures/x.ts', text: "import type {PolicyRecord} from '../plan/signature-record.ts'\n"},
      {path: 'src/copy/x.ts', text: "import type {PlanEntry} from '../plan/model.ts'\n"},
      {path: 'src/apply/x.ts', text: "import {subsetDecision} from '../plan/select-platforms.ts'\nimport {recordPolicy} from '../plan/policy-record.ts'\n"},
    ]
    const allowed = 'model.ts, planfile.ts, consistency.ts, definition-match.ts'
    expect(findPlanReaches(files)).toStrictEqual([
      'src/signatures/x.ts → ../plan/signature-record.ts (signatures and copy never read plan/)',
      'src/copy/x.ts → ../plan/model.ts (signatures and copy never read plan/)',
      `src/apply/x.ts → ../plan/select-platforms.ts (apply reads of plan/ only ${allowed})`,
      `src/apply/x.ts → ../plan/policy-record.ts (apply reads of plan/ only ${allowed})`,
    ])
  })

  test('allowed plan reaches: apply/ reading the plan file and binding checks, plan/ and commands reading anything of plan/', () => {
    const files = [
      {
        path: 'src/apply/x.ts',
        text: "import type {Plan} from '../plan/model.ts'\nimport {readPlanFile} from '../plan/planfile.ts'\nimport {planInconsistencies} from '../plan/consistency.ts'\nimport {matchDefinition} from '../plan/definition-match.ts'\n",
      },
      {path: 'src/plan/x.ts', text: "import {pickSelection} from './select-platforms.ts'\n"},
      {path: 'src/commands/x.ts', text: "import {computePlan} from '../plan/run.ts'\n"},
    ]
    expect(findPlanReaches(files)).toStrictEqual([])
  })

  test('an import cycle between two files of one layer', () => {
    const files = [
      {path: 'src/registry/client.ts', text: "import {RegistryRepository} from './registry-repository.ts'\n"},
      {path: 'src/registry/registry-repository.ts', text: "import type {RegistryClient} from './client.ts'\n"},
    ]
    expect(findCycles(files)).toStrictEqual(['import cycle: src/registry/client.ts → src/registry/registry-repository.ts → src/registry/client.ts'])
  })

  test('a longer cycle is shown as its shortest loop, once; a file importing itself is a cycle', () => {
    const files = [
      {path: 'src/registry/a.ts', text: "import {b} from './b.ts'\n"},
      {path: 'src/registry/b.ts', text: "export {c} from './c/c.ts'\nimport {d} from './d.ts'\n"},
      {path: 'src/registry/c/c.ts', text: "import type {A} from '../a.ts'\n"},
      {path: 'src/registry/d.ts', text: "import {e} from '../ref/e.ts'\n"},
      {path: 'src/ref/e.ts', text: "const self = await import('./e.ts')\n"},
    ]
    expect(findCycles(files)).toStrictEqual([
      'import cycle: src/ref/e.ts → src/ref/e.ts',
      'import cycle: src/registry/a.ts → src/registry/b.ts → src/registry/c/c.ts → src/registry/a.ts',
    ])
  })

  test('files that import the same files without a loop are no cycle', () => {
    const files = [
      {path: 'src/registry/a.ts', text: "import {b} from './b.ts'\nimport {c} from './c.ts'\n"},
      {path: 'src/registry/b.ts', text: "import {c} from './c.ts'\n"},
      {path: 'src/registry/c.ts', text: "import Value from 'typebox/value'\n// import {a} from './a.ts'\n"},
    ]
    expect(findCycles(files)).toStrictEqual([])
  })

  test('reports every violation of a file, not only the first', () => {
    const text = "import {a} from '../registry/client.ts'\nimport {b} from '../views/plan.ts'\nimport {c} from '../ref/digest.ts'\n"
    expect(findViolations([{path: 'src/oci/x.ts', text}])).toHaveLength(2)
  })

  test('a sleep or a clock of its own below commands/, and what is allowed', () => {
    const files = [
      {path: 'src/registry/remote/x.ts', text: 'await Bun.sleep(10)\n'},
      {path: 'src/copy/x.ts', text: 'const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))\n'},
      {path: 'src/registry/layout/x.ts', text: 'const started = Date.now()\n'},
      {path: 'src/transport/watchdog.ts', text: 'const timer = setTimeout(onIdle, ms)\n'},
      {path: 'src/commands/pace.ts', text: 'setTimeout(resolve, ms)\nconst now = Date.now\n'},
      {path: 'src/copy/y.ts', text: '/** Unlike setTimeout(resolve, ms), this waits on the pace. */\n// Date.now is not read here\nawait pace.sleep(ms)\n'},
    ]
    expect(findOwnPacing(files)).toStrictEqual([
      "src/registry/remote/x.ts: waits or reads the clock itself (take the run's Pace)",
      "src/copy/x.ts: waits or reads the clock itself (take the run's Pace)",
      "src/registry/layout/x.ts: waits or reads the clock itself (take the run's Pace)",
    ])
  })

  test('start-up loads: a command reaching sigstore or a store statically, and what loads only when a command runs', () => {
    const files = [
      {path: 'src/commands.ts', text: "import Verify from './commands/verify.ts'\nimport Plan from './commands/plan.ts'\n"},
      {
        path: 'src/commands/verify.ts',
        text: "import {Flags} from '@oclif/core'\nimport {readFile} from 'node:fs/promises'\nimport {verifyImage} from '../signatures/image.ts'\n",
      },
      {
        path: 'src/commands/plan.ts',
        text: [
          "import type {Plan} from '../plan/model.ts'",
          "import {type PlanFormat, type Other} from '../views/plan.ts'",
          'export function x() { return 1 }',
          "import {helper} from './helper.ts'",
          "const run = async () => (await import('../plan/run.ts')).runPlan",
        ].join('\n'),
      },
      {path: 'src/commands/helper.ts', text: "import Value from 'typebox/value'\nexport {openLayout} from '../registry/layout/layout.ts'\n"},
      {path: 'src/signatures/image.ts', text: "import {verify} from '@sigstore/verify'\n"},
      {path: 'src/plan/model.ts', text: "import {Type} from 'typebox'\n"},
      {path: 'src/views/plan.ts', text: "import Table from 'cli-table3'\n"},
      {path: 'src/plan/run.ts', text: "import {openLayout} from '../registry/layout/layout.ts'\n"},
      {path: 'src/registry/layout/layout.ts', text: ''},
    ]
    expect(findStartupLoads(files, 'src/commands.ts', new Set(['@oclif/core']))).toStrictEqual([
      'src/commands.ts → src/commands/verify.ts → src/signatures/image.ts (loaded at start-up)',
      'src/commands.ts → src/commands/plan.ts → src/commands/helper.ts → typebox/value (a package at start-up)',
      'src/commands.ts → src/commands/plan.ts → src/commands/helper.ts → src/registry/layout/layout.ts (loaded at start-up)',
    ])
    expect(findStartupLoads(files, 'src/commands.ts', new Set(['@oclif/core', 'typebox']))).toHaveLength(2)
  })

  test('importSpecifiers finds the relative specifiers only', () => {
    const text = [
      "import {a} from './a.ts'",
      "import type {B} from '../b/b.ts'",
      "export * from './c.ts'",
      'export {d} from "../d/d.ts"',
      "import './e.ts'",
      "const f = await import('../f/f.ts')",
      "import Table from 'cli-table3'",
      "import {readFile} from 'node:fs/promises'",
    ].join('\n')
    expect(importSpecifiers(text).sort()).toStrictEqual(['../b/b.ts', '../d/d.ts', '../f/f.ts', './a.ts', './c.ts', './e.ts'])
  })
})
