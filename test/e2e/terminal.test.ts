/**
 * The compiled binary under a real pseudo-terminal (util-linux `script`), 80 columns wide (set with stty, so the
 * width comes from the terminal itself, not COLUMNS), against real registries: the plan, `show` and apply views
 * a person reads. What is checked is the captured screen: every line fits, colour is drawn, and the entries,
 * the conflict and the failed signature check are told as the views promise.
 */
import {afterAll, beforeAll, describe, expect, setDefaultTimeout, test} from 'bun:test'
import {builtBinary} from '../support/binary.ts'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {classifiableEntries, type Scenario, startScenario} from '../integration/scenario.ts'
import {makeImage, pushImage} from '../support/images.ts'
import {pushLegacySignature} from '../support/signed-images.ts'
import {makeKeyPair} from '../support/sigstore/test-keys.ts'

setDefaultTimeout(120_000)

let binary: string
const WIDTH = 80
let s: Scenario
let cwd: string

beforeAll(async () => {
  binary = builtBinary()
  s = await startScenario()
  cwd = await mkdtemp(join(tmpdir(), 'image-syncer-tty-'))
  // Signed, but by a key the entry's policy does not name: its check fails.
  const vendor = makeKeyPair()
  await writeFile(join(s.dir, 'vendor.pub'), vendor.publicPem)
  const image = makeImage({flavor: 'oci'})
  await pushImage(s.source.url, 'acme/other-key', image, '1.0')
  await pushLegacySignature(s.source.url, 'acme/other-key', image.digest, makeKeyPair())
})
afterAll(async () => {
  await s?.stop()
  if (cwd) await rm(cwd, {recursive: true, force: true})
})

interface Screen {
  /** The lines as the terminal got them, colour codes and all. */
  raw: string[]
  /** The same without colour codes: what a person reads. */
  lines: string[]
  text: string
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`

/** Runs the binary in a pseudo-terminal of WIDTH columns; stdout and stderr both land on its screen. */
async function onTerminal(args: string[]): Promise<Screen & {exitCode: number}> {
  const env = {...process.env}
  for (const name of ['COLUMNS', 'LINES', 'NO_COLOR', 'FORCE_COLOR', 'GITHUB_ACTIONS']) delete env[name]
  env.TERM = 'xterm-256color'
  const command = `stty cols ${WIDTH} rows 200; exec ${[binary, ...args].map(quote).join(' ')}`
  // -e: script exits with the command's code; -q: no "Script started" lines; the log goes nowhere.
  const child = Bun.spawn(['script', '-qec', command, '/dev/null'], {cwd, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe'})
  const [out, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited])
  // The terminal turns \n into \r\n; progress redraws its line after \r.
  const raw = out
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => line.slice(line.lastIndexOf('\r') + 1))
  const lines = raw.map((line) => line.replace(/\x1b\[[0-9;]*[mK]/g, ''))
  return {raw, lines, text: lines.join('\n'), exitCode}
}

function expectFits(screen: Screen): void {
  for (const line of screen.lines) expect(Bun.stringWidth(line), line).toBeLessThanOrEqual(WIDTH)
}

describe('on an 80-column terminal', () => {
  test('plan groups the entries by action, relative to the prefix said once, and explains the conflict and the failed check', async () => {
    const def = await s.definition(
      'tty.yaml',
      `${classifiableEntries(s, true)}\n- source: "acme/other-key:1.0"\n  signatures:\n    verify: required\n    keys: [./vendor.pub]`,
    )
    const planPath = join(cwd, 'tty.plan.json')
    const plan = await onTerminal(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag])
    expect(plan.exitCode).toBe(1)
    expectFits(plan)
    expect(plan.lines[0]).toBe(`Into ${s.prefix} (targets are shown relative to it)`)
    expect(plan.text).toContain('= already-present: 1 entry, left as they are (--show-present lists them)')
    expect(plan.text).toContain('+ to-copy: 7 entries, copied by apply')
    for (const target of ['library/multi:1.0', 'acme/list:2.0', 'library/single:1.0-amd64', 'library/multi:1.0-pinned']) {
      expect(plan.lines).toContain(`  + ${target}`)
    }
    expect(plan.lines).toContain(`      source    = multi@sha256:${s.images.multi.digest.slice(7, 19)}`)
    // The conflict: both digests, and what to do.
    expect(plan.lines).toContain('! conflicting-ID: 1 entry, the target tag holds other content')
    expect(plan.lines).toContain('  ! acme/conflict:1.0')
    expect(plan.text).toContain(`source has = ${s.images.conflictSource.digest.slice(0, 19)}`)
    expect(plan.text).toContain(`target has = ${s.images.conflictTarget.digest.slice(0, 19)}`)
    expect(plan.text.replace(/\s+/g, ' ')).toContain('remove the target tag by hand, then plan again')
    // The failed check: the policy and what was found.
    expect(plan.lines).toContain('x signature check failed: 1 entry, not copied')
    expect(plan.lines).toContain('  x acme/other-key:1.0')
    expect(plan.text).toMatch(/policy {4}= required, by key sha256:[0-9a-f]{12}\n/)
    expect(plan.text).toContain('found     = 1 signature, none by a signer of the policy')
    expect(plan.text).toContain('Plan: 8 to copy, 1 already present, 1 conflicting. 1 signature failure.')
    expect(plan.text).toContain('Plan written to ')
    // Colour, on a terminal: the symbols.
    expect(plan.raw.join('\n')).toContain('\x1b[32m+\x1b[0m')
    expect(plan.raw.join('\n')).toContain('\x1b[31m!\x1b[0m')

    // show prints the saved plan as plan printed it.
    const show = await onTerminal(['show', planPath])
    expect(show.exitCode).toBe(0)
    const printed = (screen: Screen) => screen.text.slice(0, screen.text.indexOf('signature failure.'))
    expect(printed(show)).toBe(printed(plan))
  })

  test('apply shows the plan before it starts, then what it did, grouped by outcome', async () => {
    const def = await s.definition('tty-apply.yaml', classifiableEntries(s, false))
    const planPath = join(cwd, 'tty-apply.plan.json')
    expect((await onTerminal(['plan', '-i', def, '-o', planPath, '--mirror', s.mirrorFlag])).exitCode).toBe(0)
    const apply = await onTerminal(['apply', planPath, '--mirror', s.mirrorFlag])
    expect(apply.exitCode).toBe(0)
    expectFits(apply)
    const preview = apply.text.indexOf('+ to-copy: 7 entries, copied by apply')
    const planned = apply.text.indexOf('Plan: 7 to copy, 1 already present, 0 conflicting.')
    expect(preview).toBeGreaterThan(0)
    expect(planned).toBeGreaterThan(preview)
    const result = apply.text.slice(planned)
    expect(result).toContain('= already-present: 1 entry, left as they were (--show-present lists them)')
    expect(result).toContain('+ copied: 7 entries\n  + library/multi:1.0\n')
    expect(result.replace(/\s+/g, ' ')).toMatch(/Apply: 7 copied, 1 already present, 0 conflicts, 0 failed; [\d.]+ [kM]?B transferred in/)
  })
})
