import { readFileSync } from 'node:fs'
import type { PGliteOptions } from '@electric-sql/pglite'
import { inject, vi } from 'vitest'

// Every `new PGlite('memory://')` in a test process (the app's database in buildTestApp, and
// any test's own) loads the data folder of a fresh database made once for the run
// (pglite-template.ts) instead of running initdb itself: the same database, byte for byte,
// as initdb would make, for ~0.5 s of CPU instead of ~2.8 s. Migrations and the seed still run
// on it as on any fresh database. Databases in a folder (DATA_DIR=<path>) and child
// processes are left alone: their creation is what some tests test.
vi.mock('@electric-sql/pglite', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@electric-sql/pglite')>()
  const template = new Blob([readFileSync(inject('pgliteTemplate'))])
  class PGlite extends actual.PGlite {
    constructor(dataDir?: string | PGliteOptions, options: PGliteOptions = {}) {
      if (dataDir === 'memory://' && !options.loadDataDir) {
        super(dataDir, { ...options, loadDataDir: template })
      } else if (typeof dataDir === 'string' || dataDir === undefined) super(dataDir, options)
      else super(dataDir)
    }
  }
  return { ...actual, PGlite }
})
