import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { describe, expect, it } from 'vitest'

// Every relative link in the README and docs/ leads somewhere: the file or folder exists, and a
// #fragment names a heading of the Markdown file it points into (as GitHub makes its anchors).
// The README links into docs/ for everything it summarises, so a heading renamed or a section
// moved there must not leave the README pointing at nothing.

/** GitHub's anchor for a heading: its text lower-cased, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
}

/** The text outside fenced code blocks, where Markdown links and headings live. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
}

/** The anchors of a Markdown file's headings, repeated ones numbered as GitHub does. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of prose(readFileSync(file, 'utf8')).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1] as string)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Each relative link's target that does not resolve, as "file: target (why)". */
function brokenLinks(file: string): string[] {
  const broken: string[] = []
  for (const m of prose(readFileSync(file, 'utf8')).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1] as string
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:
    const [path = '', fragment] = target.split('#')
    const resolved = path === '' ? file : normalize(join(dirname(file), decodeURI(path)))
    if (!existsSync(resolved)) {
      broken.push(`${file}: ${target} (no such file)`)
      continue
    }
    if (fragment === undefined) continue
    if (!resolved.endsWith('.md') || statSync(resolved).isDirectory()) continue
    if (!anchors(resolved).has(fragment)) broken.push(`${file}: ${target} (no such heading)`)
  }
  return broken
}

const files = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

describe('links in the README and docs/', () => {
  it('makes anchors as GitHub does', () => {
    expect(slug('Stop 17: a fast host (2026-11-30, 04:10–04:45 UTC, main at 06685ef)')).toBe(
      'stop-17-a-fast-host-2026-11-30-04100445-utc-main-at-06685ef',
    )
    expect(slug('`npm run bench` (04:10, two workers)')).toBe('npm-run-bench-0410-two-workers')
    expect(slug('Signing in with Entra ID (no password in the serving pool)')).toBe(
      'signing-in-with-entra-id-no-password-in-the-serving-pool',
    )
  })

  it('finds a link to a missing file or heading', () => {
    expect(brokenLinks('test/deploy/doc-links.fixture.md')).toEqual([
      'test/deploy/doc-links.fixture.md: ../../docs/nope.md (no such file)',
      'test/deploy/doc-links.fixture.md: ../../README.md#no-such-section (no such heading)',
      'test/deploy/doc-links.fixture.md: #missing (no such heading)',
    ])
  })

  it.each(files)('%s: every relative link resolves', (file) => {
    expect(brokenLinks(file)).toEqual([])
  })
})
