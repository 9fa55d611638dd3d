/**
 * Comments that point a reader at a file must point at one that exists: a rename that forgets the comments
 * leaves them sending readers to nothing. Checked are the paths a comment spells from the repository root
 * (`src/…`, `test/…`, `.ci/…`), in whole-line comments (`//` lines and `/* … *\/` blocks) of the TypeScript
 * in src/, test/ and .ci/. Bare names (`planfile.ts`) and relative ones are left to review: they are ambiguous.
 */
import {describe, expect, test} from 'bun:test'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

const ROOT = join(import.meta.dir, '..')

interface SourceFile {
  /** Path from the repository root, with `/`. */
  path: string
  text: string
}

/** The comment lines of `text`, numbered from 1: `//` lines and every line of a block comment that opens a line. */
function commentLines(text: string): {line: number; text: string}[] {
  const lines: {line: number; text: string}[] = []
  let inBlock = false
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trimStart()
    if (!inBlock && trimmed.startsWith('/*')) inBlock = true
    if (inBlock || trimmed.startsWith('//')) lines.push({line: i + 1, text: line})
    if (inBlock && line.includes('*/')) inBlock = false
  })
  return lines
}

/** A path from the repository root: starts a word (not the tail of `../src/x` or a URL), ends on a name character. */
const ROOTED_PATH = /(?<![\w./-])(?:src|test|\.ci)\/[\w.-]*[\w-](?:\/[\w.-]*[\w-])*/g

/** Every rooted path in a comment of `files` that `exists` says is not there, as `file:line: path`. */
function missingPaths(files: readonly SourceFile[], exists: (path: string) => boolean): string[] {
  const missing: string[] = []
  for (const file of files) {
    for (const {line, text} of commentLines(file.text)) {
      for (const [path] of text.matchAll(ROOTED_PATH)) {
        if (!exists(path)) missing.push(`${file.path}:${line}: ${path}`)
      }
    }
  }
  return missing
}

function sourceFiles(): SourceFile[] {
  const files: SourceFile[] = []
  for (const pattern of ['src/**/*.ts', 'test/**/*.ts', '.ci/*.ts']) {
    for (const path of new Bun.Glob(pattern).scanSync({cwd: ROOT, dot: true})) {
      if (path.startsWith('test/fixtures/')) continue
      files.push({path, text: readFileSync(join(ROOT, path), 'utf8')})
    }
  }
  return files.sort((a, b) => a.path.localeCompare(b.path))
}

describe('paths named in comments', () => {
  const files = sourceFiles()

  test('the tree has comments that name files, and each named file exists', () => {
    expect(files.map((f) => f.path)).toContain('.ci/release.ts')
    const named = files.flatMap((f) => commentLines(f.text)).filter(({text}) => text.match(ROOTED_PATH) !== null)
    expect(named.length).toBeGreaterThan(20)
    expect(missingPaths(files, (path) => existsSync(join(ROOT, path)))).toStrictEqual([])
  })

  test('a comment naming a file that is gone is reported with its line; code, relative paths and URLs are not', () => {
    const text = [
      '/**',
      ' * The uploads live in src/registry/remote/uploads.ts (see also test/support/gone.ts).',
      ' */',
      "const a = 'src/not-a-comment.ts'",
      '// ../src/relative.ts and https://example.com/src/url.ts are not rooted paths',
      '/* one line: .ci/gone.ts. */',
      'const b = 1 // a trailing comment: src/trailing.ts is not read',
    ].join('\n')
    const present = new Set(['src/registry/remote/uploads.ts'])
    expect(missingPaths([{path: 'src/x.ts', text}], (path) => present.has(path))).toStrictEqual(['src/x.ts:2: test/support/gone.ts', 'src/x.ts:6: .ci/gone.ts'])
  })
})
