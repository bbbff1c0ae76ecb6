import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { browserTests, databaseIndependent } from '../vitest.config.ts'

// CI runs the projects `once` and `browser` on PGlite only (.ci/run, docs/testing.md): a file
// listed there that came to need the test database's engine would silently lose its PostgreSQL
// run, and a file that drives a browser left in `db` would run twice for nothing.

/** Every test file under test/, as vitest.config.ts names them. */
const testFiles = (function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.posix.join(dir, entry.name)
    if (entry.isDirectory()) return walk(file)
    return entry.name.endsWith('.test.ts') ? [file] : []
  })
})('test')

/** The names in `file` (of those in `pattern`), each once. */
function uses(file: string, pattern: RegExp): string[] {
  return [...new Set(readFileSync(file, 'utf8').match(pattern) ?? [])]
}

it('the files run once use no test database (nothing that reads TEST_DATABASE_URL)', () => {
  const found = databaseIndependent.flatMap((file) => {
    expect(existsSync(file), `${file} is listed in vitest.config.ts but does not exist`).toBe(true)
    // This file names them itself, in the pattern below.
    if (file === 'test/projects.test.ts') return []
    const names = uses(
      file,
      /\b(testDatabase|buildTestApp|appsOnOneDatabase|usingPostgres|TEST_DATABASE_URL)\b/g,
    )
    return names.length > 0 ? [`${file}: ${names.join(', ')}`] : []
  })
  expect(found).toEqual([])
})

// A file drives a browser when it imports the browser helper or Playwright itself.
const drivesBrowser = /from '(?:\.\.\/)+helpers\/browser\.ts'|from 'playwright-core'/

it('every file that drives a browser is in the project browser, and only those', () => {
  // This file names the pattern itself.
  const driving = testFiles.filter(
    (file) => file !== 'test/projects.test.ts' && drivesBrowser.test(readFileSync(file, 'utf8')),
  )
  expect(driving.sort()).toEqual([...browserTests].sort())
  expect(browserTests.filter((file) => databaseIndependent.includes(file))).toEqual([])
})

it('the browser files never ask which database they are on (they run on PGlite only)', () => {
  const found = browserTests.flatMap((file) => {
    const names = uses(file, /\b(appsOnOneDatabase|usingPostgres|TEST_DATABASE_URL)\b/g)
    return names.length > 0 ? [`${file}: ${names.join(', ')}`] : []
  })
  expect(found).toEqual([])
})
