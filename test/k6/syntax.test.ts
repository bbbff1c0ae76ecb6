// The k6 scripts must parse in the oldest k6 the README names (v0.48.0). That k6 parses a script
// with goja and, when it meets ES module syntax (every script here), hands the file to Babel 6
// (babylon 6: the ES2017 grammar; k6 enables only the ES module -> CommonJS transform), then runs
// the result in goja, which runs ES2017 (async/await and generators since k6 v0.43). So the
// level is ECMAScript 2017 in module mode: optional chaining, `??`, `??=`, object spread/rest,
// optional catch binding, numeric separators, BigInt, class fields, async iteration and the
// ES2018 regular-expression syntax are all newer and all refused by acorn at this level (issue 12
// found the first seven refused by a real k6 v0.48.0, one by one).
//
// acorn accepts one more thing at ES2017 that k6 cannot load: an import of a module that is
// neither a k6 built-in nor a relative path with its `.js` extension (k6 has no node_modules
// resolution and does not add extensions). That is refused by walking the imports.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { type Options, parse } from 'acorn'
import { describe, expect, it } from 'vitest'

/** The language level k6 v0.48.0 parses (see above); docs/load-testing.md states it. */
const K6_ECMA_VERSION = 2017
const K6_ROOT = join(import.meta.dirname, '..', '..', 'k6')
const PARSE_OPTIONS: Options = {
  ecmaVersion: K6_ECMA_VERSION,
  sourceType: 'module',
  locations: true,
  allowHashBang: false,
  allowAwaitOutsideFunction: false,
}

/** k6 built-in modules present in k6 v0.48.0 that are not experimental. */
const K6_MODULES = new Set([
  'k6',
  'k6/crypto',
  'k6/data',
  'k6/encoding',
  'k6/execution',
  'k6/html',
  'k6/http',
  'k6/metrics',
  'k6/net/grpc',
  'k6/ws',
])

/**
 * Every problem k6 v0.48 would have with one script, as "file:line:column message"; [] when none.
 * A syntax error stops the parse, so only the first newer construct of a file is named; the
 * import check runs only on a file that parses.
 * @param file path shown in the messages
 * @param source the file's text
 */
function k6Problems(file: string, source: string): string[] {
  let program: ReturnType<typeof parse>
  try {
    program = parse(source, PARSE_OPTIONS)
  } catch (error) {
    const loc = (error as { loc?: { line: number; column: number } }).loc
    const where = loc ? `${loc.line}:${loc.column + 1}` : '?'
    const message = (error as Error).message.replace(/ \(\d+:\d+\)$/, '')
    const text = loc ? (source.split('\n')[loc.line - 1] ?? '').trim() : ''
    return [`${file}:${where} ${message} in \`${text}\`: newer than ECMAScript ${K6_ECMA_VERSION}`]
  }
  const problems: string[] = []
  for (const node of program.body) {
    if (!('source' in node) || !node.source || typeof node.source.value !== 'string') continue
    const from = node.source.value
    const relativeJs = /^\.\.?\//.test(from) && from.endsWith('.js')
    if (!relativeJs && !K6_MODULES.has(from)) {
      const line = node.loc ? node.loc.start.line : 0
      problems.push(`${file}:${line}:1 import '${from}': not a k6 module nor a relative .js path`)
    }
  }
  return problems
}

/** Every .js file under k6/ but the git-ignored results. */
function k6Scripts(dir = K6_ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'results' ? [] : k6Scripts(path)
    return entry.name.endsWith('.js') ? [path] : []
  })
}

describe(`the check holding k6 scripts to ECMAScript ${K6_ECMA_VERSION} modules`, () => {
  // Each construct a real k6 v0.48.0 refused, plus the other post-2017 ones, on line 2.
  const newer: Record<string, string> = {
    'optional chaining': 'const m = null\nexport const a = m?.[1]',
    'nullish coalescing': 'const m = null\nexport const a = m ?? 1',
    'logical assignment': 'let m = null\nm ??= 1',
    'object spread': 'const m = {}\nexport const a = { ...m }',
    'object rest': 'const m = {}\nconst { x, ...rest } = m',
    'optional catch binding': 'try {\n} catch {}',
    'numeric separator': 'export const a = 1\nexport const b = 30_000',
    'BigInt literal': 'export const a = 1\nexport const b = 10n',
    'class field': 'export class A {\n  x = 1\n}',
    'async iteration': 'export async function f(xs) {\n  for await (const x of xs) x\n}',
    'regexp dotAll flag': 'export const a = 1\nexport const b = /a.b/s',
    'regexp named group': 'export const a = 1\nexport const b = /(?<y>\\d+)/',
    'dynamic import': "export const a = 1\nexport const b = import('./x.js')",
    'top-level await': 'export const a = 1\nawait a',
  }
  for (const [construct, source] of Object.entries(newer)) {
    it(`refuses ${construct}, naming the file and line`, () => {
      const problems = k6Problems('k6/x.js', source)
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(/^k6\/x\.js:2:\d+ .*newer than ECMAScript 2017$/)
    })
  }

  it('accepts what k6 v0.48 runs: ES2017 modules with async functions, ** and trailing commas', () => {
    const source = [
      "import http from 'k6/http'",
      "import { f } from '../lib/f.js'",
      'export async function g({ a, b = 2 }, ...rest) {',
      '  await f(a ** b, [...rest], `a`,)',
      '}',
      'export class A { static m() { return new.target } }',
    ].join('\n')
    expect(k6Problems('k6/x.js', source)).toEqual([])
  })

  it('refuses imports k6 cannot resolve: npm packages, node built-ins, missing .js', () => {
    const source = [
      "import { parse } from 'acorn'",
      "import fs from 'node:fs'",
      "export { f } from './lib/f'",
    ].join('\n')
    expect(k6Problems('k6/x.js', source)).toEqual([
      "k6/x.js:1:1 import 'acorn': not a k6 module nor a relative .js path",
      "k6/x.js:2:1 import 'node:fs': not a k6 module nor a relative .js path",
      "k6/x.js:3:1 import './lib/f': not a k6 module nor a relative .js path",
    ])
  })
})

describe('the k6 scripts', () => {
  it('find at least the five test types and their library', () => {
    const names = k6Scripts().map((f) => relative(K6_ROOT, f))
    for (const name of ['smoke.js', 'load.js', 'stress.js', 'spike.js', 'soak.js']) {
      expect(names).toContain(name)
    }
    expect(names.filter((n) => n.startsWith('lib/')).length).toBeGreaterThan(3)
  })

  it(`parse as ECMAScript ${K6_ECMA_VERSION} modules and import only what k6 v0.48 resolves`, () => {
    const problems = k6Scripts().flatMap((file) =>
      k6Problems(relative(join(K6_ROOT, '..'), file), readFileSync(file, 'utf8')),
    )
    expect(problems).toEqual([])
  })
})
