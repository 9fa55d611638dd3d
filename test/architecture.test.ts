/**
 * The layering rule of src/: a layer imports only layers of lower rank (plus a few named same-rank pairs),
 * so the pure layers (ref, oci) never grow I/O and the domain never depends on the CLI.
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
  'cli.ts': 11,
}

/**
 * The registry implementation behind RepositoryHandle (registry/handle.ts): raw requests (the client's send()),
 * blob uploads, tag lists and the layout store. Layers above reach stores only through handles and Stores.
 */
const REGISTRY_INTERNALS: ReadonlySet<string> = new Set([
  'src/registry/blobs.ts',
  'src/registry/blob-chunks.ts',
  'src/registry/blob-read.ts',
  'src/registry/kept-manifests.ts',
  'src/registry/tags.ts',
  'src/registry/registry-repository.ts',
  'src/registry/layout-repository.ts',
  'src/registry/layout/layout.ts',
  'src/registry/layout/blobs.ts',
  'src/registry/layout/files.ts',
  'src/registry/layout/index-file.ts',
  'src/registry/layout/lock.ts',
  'src/registry/layout/manifests.ts',
])

/** The one file outside src/ that source may import: the package manifest, for the version. */
const ALLOWED_OUTSIDE_SRC: ReadonlySet<string> = new Set(['package.json'])

/** Same-rank imports between different layers that are allowed, as `from→to`. */
const ALLOWED_SAME_RANK: ReadonlySet<string> = new Set([
  // The transport spends credentials; auth's types describe them.
  'transport→auth',
  'auth→transport',
  // Planning reads the definition. (apply must not: it acts on the plan file alone.)
  'plan→definition',
  // Apply executes the plan file: it reads plan's model and file reader, never the definition.
  'apply→plan',
  // The entry point may load the command table.
  'cli.ts→commands.ts',
])

const MAX_LINES = 400

interface SourceFile {
  /** Path relative to the repository root, with `/`, e.g. `src/plan/build.ts`. */
  path: string
  text: string
}

/** Relative specifiers of static imports, re-exports, side-effect imports and dynamic imports. */
function importSpecifiers(text: string): string[] {
  // Comments may quote imports; drop block comments and whole-line `//` comments (not `//` inside strings).
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
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
      const target = posix.normalize(posix.join(posix.dirname(file.path), specifier))
      const to = layerOf(target)
      if (to === null && !ALLOWED_OUTSIDE_SRC.has(target)) violations.push(`${file.path} → ${specifier} (imports leave src/)`)
      if (from !== 'registry' && REGISTRY_INTERNALS.has(target)) violations.push(`${file.path} → ${specifier} (registry internals: use a RepositoryHandle)`)
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
      files: [{path: 'src/apply/x.ts', text: "import {headBlob} from '../registry/blobs.ts'\nimport type {Stores} from '../registry/handle.ts'\n"}],
      want: ['src/apply/x.ts → ../registry/blobs.ts (registry internals: use a RepositoryHandle)'],
    },
    {
      name: 'an import leaving src/ (test helpers, scripts)',
      files: [{path: 'src/apply/x.ts', text: "import {seed} from '../../test/support/images.ts'\n"}],
      want: ['src/apply/x.ts → ../../test/support/images.ts (imports leave src/)'],
    },
    {
      name: 'allowed: downward, same layer, the named same-rank pairs, top-level files, packages and files outside src',
      files: [
        {path: 'src/plan/build.ts', text: "import {x} from '../definition/resolve.ts'\nimport {y} from './model.ts'\nimport {z} from '../ref/digest.ts'\nimport Value from 'typebox/value'\n"},
        {path: 'src/transport/transport.ts', text: "import type {Credential} from '../auth/credential.ts'\n"},
        {path: 'src/auth/x.ts', text: "import type {Endpoint} from '../transport/transport.ts'\n"},
        {path: 'src/commands.ts', text: "import {PlanCommand} from './commands/plan.ts'\n"},
        {path: 'src/cli.ts', text: "import pkg from '../package.json'\nimport {COMMANDS} from './commands.ts'\n"},
        {path: 'src/oci/x.ts', text: "/**\n * Unlike `import {a} from '../registry/client.ts'`, this stays pure.\n */\n// import {b} from '../views/plan.ts'\nexport const url = 'https://example.com/x'\n"},
      ],
      want: [],
    },
  ]
  for (const {name, files, want} of cases) {
    test(name, () => {
      expect(findViolations(files)).toStrictEqual(want)
    })
  }

  test('reports every violation of a file, not only the first', () => {
    const text = "import {a} from '../registry/client.ts'\nimport {b} from '../views/plan.ts'\nimport {c} from '../ref/digest.ts'\n"
    expect(findViolations([{path: 'src/oci/x.ts', text}])).toHaveLength(2)
  })

  test('importSpecifiers finds the relative specifiers only', () => {
    const text = [
      "import {a} from './a.ts'",
      "import type {B} from '../b/b.ts'",
      "export * from './c.ts'",
      "export {d} from \"../d/d.ts\"",
      "import './e.ts'",
      "const f = await import('../f/f.ts')",
      "import Table from 'cli-table3'",
      "import {readFile} from 'node:fs/promises'",
    ].join('\n')
    expect(importSpecifiers(text).sort()).toStrictEqual(['../b/b.ts', '../d/d.ts', '../f/f.ts', './a.ts', './c.ts', './e.ts'])
  })
})
