import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { serviceNodeFlags } from '../bench/common.ts'

// The service is src/ (with views/, migrations/, public/) and nothing else: the command-line
// tools live in scripts/ and the image holds only what runs (issue 14, item 6).

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  scripts: Record<string, string>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

/** Every file under `dir` whose name ends in one of `extensions`, as paths relative to the repository. */
function sources(dir: string, extensions: readonly string[] = ['.ts']): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => extensions.some((ext) => f.endsWith(ext)))
    .map((f) => path.join(dir, f))
}

/** Lines in a text as `wc -l` counts them for a file ending in a newline (a last line without one counts too). */
const lineCount = (text: string): number =>
  text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0)

/** Most lines in one source file of src/ or k6/ (issue 14: small files, each with one concern). */
const MAX_LINES = 300

// Static imports and re-exports that reach run time (`import type` is erased by Node's type
// stripping), side-effect imports and dynamic imports: `[file, specifier]`.
const staticImport =
  /^\s*(?:import|export)\s+(type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s+'([^']+)'/gm
const bareImport = /^\s*import\s+'([^']+)'/gm
const dynamicImport = /\bimport\(\s*'([^']+)'\s*\)/g

function importsIn(text: string): string[] {
  const found: string[] = []
  for (const m of text.matchAll(staticImport)) if (!m[1]) found.push(m[2] as string)
  for (const m of text.matchAll(bareImport)) found.push(m[1] as string)
  for (const m of text.matchAll(dynamicImport)) found.push(m[1] as string)
  return found
}

const runtimeImports = (file: string) => importsIn(readFileSync(file, 'utf8'))

/** `@scope/name/sub` is `@scope/name`, `name/sub` is `name`; null for relative and built-ins. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return null
  if (builtinModules.includes(specifier)) return null
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string)
}

describe('the layout', () => {
  it('imports nothing at run time in src/ but production dependencies and Node built-ins', () => {
    const outside: string[] = []
    for (const file of sources('src')) {
      for (const specifier of runtimeImports(file)) {
        const name = packageOf(specifier)
        if (name && !(name in pkg.dependencies)) outside.push(`${file}: ${specifier}`)
      }
    }
    expect(outside).toEqual([])
  })

  it('reads the imports it checks (the check above is not vacuous)', () => {
    const imports = sources('scripts').flatMap((f) => runtimeImports(f).map(packageOf))
    expect(imports).toEqual(expect.arrayContaining(['pg-copy-streams', 'autocannon', 'kysely']))
    expect(imports).toContain('@azure/identity')
    // A type-only import is erased before Node runs the file, so it needs no installed package.
    const text = [
      "import type { Topology } from 'topojson-specification'",
      "import { feature } from 'topojson-client'",
      "import Default, { type Shape, other } from 'multi-line'",
      "export * from 'reexported'",
      "import 'side-effect'",
      "const lazy = await import('dynamic')",
    ].join('\n')
    expect(importsIn(text).sort()).toEqual(
      ['dynamic', 'multi-line', 'reexported', 'side-effect', 'topojson-client'].sort(),
    )
  })

  it(`keeps every .ts and .js file in src/ and k6/ at ${MAX_LINES} lines or fewer`, () => {
    const files = [...sources('src', ['.ts', '.js']), ...sources('k6', ['.ts', '.js'])]
    // The walk reaches both trees and their subfolders (the check below is not vacuous).
    expect(files).toEqual(
      expect.arrayContaining([
        'src/app.ts',
        'src/webhooks/dispatcher.ts',
        'k6/load.js',
        'k6/lib/data.js',
      ]),
    )
    expect([lineCount('a\nb\n'), lineCount('a\nb'), lineCount('')]).toEqual([2, 2, 0])
    const over = files
      .map((file) => ({ file, lines: lineCount(readFileSync(file, 'utf8')) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines`)
    expect(over, `over ${MAX_LINES} lines: split them along their seams`).toEqual([])
  })

  it('keeps the command-line tools in scripts/, each npm script naming a file that exists', () => {
    for (const [name, file] of [
      ['seed:orders', 'scripts/seed-orders.ts'],
      ['bench:insights', 'scripts/bench-scale.ts'],
      ['deploy', 'scripts/deploy/cli.ts'],
    ] as const) {
      expect(pkg.scripts[name], name).toBe(`node ${file}`)
    }
    for (const command of Object.values(pkg.scripts)) {
      for (const file of command.match(/\S+\.ts\b/g) ?? [])
        expect(() => readFileSync(file), file).not.toThrow()
    }
  })

  it("runs Node with npm start's flags everywhere the service's code runs", () => {
    // package.json's start script defines them (the benches read them from it too:
    // serviceNodeFlags, test/bench/common.ts); a flag changed there alone would leave the image,
    // and the commands that open the database, on the old ones.
    const start = serviceNodeFlags()
    expect(start).toContain('--max-old-space-size=192')
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1]
    const image = (JSON.parse(cmd ?? '[]') as string[]).filter((word) => word.startsWith('--'))
    expect(image).toEqual(start)
    for (const name of ['migrate', 'staff', 'mail']) {
      const flags = (pkg.scripts[name] ?? '').split(/\s+/).filter((w) => w.startsWith('--'))
      expect(flags, name).toEqual(start)
    }
  })

  it('numbers the migrations 0001, 0002, … once each: the migrator runs them by name', () => {
    // Two helpers once landed a 0017 each; a database that had run one would have refused the
    // other as out of order (Kysely's Migrator checks that pending ones come after the last run).
    const numbers = readdirSync('migrations')
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, 4))
      .sort()
    expect(numbers).toEqual(numbers.map((_, i) => String(i + 1).padStart(4, '0')))
  })

  it('builds the image from what runs: src, views, migrations, public and the package files', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8')
    // COPY lines that take from the build context (not --from another stage).
    const copied = [...dockerfile.matchAll(/^COPY\s+(?!.*--from)(?:--\S+\s+)*(.+)\s+\S+$/gm)]
      .flatMap((m) => (m[1] as string).split(/\s+/))
      .sort()
    expect(copied).toEqual(
      [
        'migrations',
        'package-lock.json',
        'package.json',
        'package.json',
        'public',
        'src',
        'views',
      ].sort(),
    )
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n')
    expect(ignored).toContain('scripts')
  })
})
