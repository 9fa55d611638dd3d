import {describe, expect, test} from 'bun:test'
import {largePlan} from '../../test/support/large-plan.ts'
import type {Plan} from '../plan/model.ts'
import {htmlText, markdownCode} from './markdown.ts'
import {renderMarkdown} from './plan-markdown.ts'

/** What registries may put in platforms, reasons and signer identities, meant to be rendered by GitHub. */
const HOSTILE = [
  'linux<!--',
  '<img src=x onerror=alert(1)>',
  '[click here](https://evil.example/)',
  '`</details>`',
  'a\\|b|c',
  '*bold* _x_ www.evil.example http://evil.example/',
]

/** GitHub's rendering, as near as Bun's GFM renderer gets: tables, and autolinks for bare URLs. */
const render = (markdown: string) => Bun.markdown.html(markdown, {autolinks: true})

function hostilePlan(count: number): Plan {
  const plan = largePlan({count, conflictEvery: 5, signatureFailureEvery: 3})
  const entries = plan.entries.map((e, i) => ({
    ...e,
    platforms: [HOSTILE[i % HOSTILE.length]!, 'linux/amd64'],
    signature:
      e.signature.status === 'failed'
        ? {...e.signature, reasons: [HOSTILE[(i + 1) % HOSTILE.length]!]}
        : {...e.signature, status: 'verified' as const, signers: [{kind: 'identity' as const, subject: HOSTILE[(i + 2) % HOSTILE.length]!, issuer: 'x'}]},
  }))
  return {...plan, entries}
}

/** Neither a tag nor a link of the registry's survives rendering. */
function expectInert(html: string): void {
  expect(html).not.toContain('<img')
  expect(html).not.toContain('<a ')
  expect(html).not.toContain('<!--')
  expect(html).not.toContain('<em>')
  // The details of a long plan are ours: opened and closed once per section.
  expect(html.split('<details>').length).toBe(html.split('</details>').length)
}

describe('registry text in the plan Markdown', () => {
  test('a small plan: every entry is its own row of six cells, and nothing the registry sent renders', () => {
    const plan = hostilePlan(12)
    const html = render(renderMarkdown(plan))
    expectInert(html)
    const rows = html.match(/<tr>.*?<\/tr>/g)!
    expect(rows).toHaveLength(1 + plan.entries.length)
    for (const row of rows) expect(row.match(/<t[dh]>/g), row).toHaveLength(6)
    expect(html).toContain('<code>linux&lt;!--, linux/amd64</code>')
    expect(html).toContain('<code>a\\\\|b|c, linux/amd64</code>')
  })

  test('a long plan: conflicts and failures are named, every row is in place, and nothing renders', () => {
    const plan = hostilePlan(200)
    const html = render(renderMarkdown(plan))
    expectInert(html)
    // Prefix rows name the whole prefix; entry rows their target relative to it.
    const entryRows = (html.match(/<tr>.*?<\/tr>/g) ?? []).filter((r) => r.includes('registry.example/mirror/team') || /<td><code>team\d+\//.test(r))
    const prefixRows = 7
    expect(entryRows).toHaveLength(plan.entries.length + prefixRows)
    for (const row of entryRows.slice(prefixRows)) expect(row.match(/<td>/g), row).toHaveLength(6)
    const conflicts = plan.entries.filter((e) => e.action === 'conflicting-ID')
    for (const e of conflicts) expect(html).toContain(`<li><code>${e.target.slice(plan.targetRepoPrefix.length)}</code> holds`)
    expect(html.includes('<td><code>&lt;img src=x onerror=alert(1)&gt;, linux/amd64</code></td>')).toBe(true)
    expect(html.includes('</code>: <code>linux&lt;!--</code></li>')).toBe(true)
  })
})

describe('markdownCode and htmlText', () => {
  test('a backtick cannot close the span; a pipe is escaped only in a table, with a backslash before it doubled', () => {
    expect(markdownCode('a`b')).toBe("`a'b`")
    expect(markdownCode('a|b')).toBe('`a|b`')
    expect(markdownCode('a\\|b', 'table')).toBe('`a\\\\\\|b`')
    expect(markdownCode('')).toBe('` `')
    expect(markdownCode('x\x1b[2J\ny')).toBe('`x\\x1b[2J\\x0ay`')
  })

  test('HTML content has its markup as entities', () => {
    expect(htmlText('<b>&</b>')).toBe('&lt;b&gt;&amp;&lt;/b&gt;')
  })
})
