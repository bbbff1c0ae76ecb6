import { existsSync, readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { databaseIndependent } from '../vitest.config.ts'

// CI runs the `once` project on PGlite only (.ci/run, docs/testing.md): a file listed there
// that came to use the test database would silently lose its PostgreSQL run.
it('the files run once use no test database (nothing that reads TEST_DATABASE_URL)', () => {
  const uses = databaseIndependent.flatMap((file) => {
    expect(existsSync(file), `${file} is listed in vitest.config.ts but does not exist`).toBe(true)
    // This file names them itself, in the pattern below.
    if (file === 'test/projects.test.ts') return []
    const found = readFileSync(file, 'utf8').match(
      /\b(testDatabase|buildTestApp|appsOnOneDatabase|usingPostgres|TEST_DATABASE_URL)\b/g,
    )
    return found ? [`${file}: ${[...new Set(found)].join(', ')}`] : []
  })
  expect(uses).toEqual([])
})
