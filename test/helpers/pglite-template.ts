import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A tar of a fresh embedded database's data folder, as initdb left it (pglite-template-setup.ts). */
    pgliteTemplate: string
  }
}

/**
 * Global setup: creates one fresh embedded database (PGlite runs initdb), writes its data folder
 * as a tar to a temporary file and provides the path as `pgliteTemplate`. Each in-memory
 * database a test process opens then starts from a copy of it instead of running initdb
 * again, which cost ~2.3 s of CPU of the ~2.8 s an opening took (see pglite-template-setup.ts).
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(tmpdir(), 'pglite-template-'))
  const file = path.join(dir, 'template.tar')
  const pglite = new PGlite('memory://')
  // dumpDataDir does not wait for the database to be ready (it would never settle).
  await pglite.waitReady
  const dump = await pglite.dumpDataDir('none')
  await pglite.close()
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()))
  project.provide('pgliteTemplate', file)
  return () => rmSync(dir, { recursive: true, force: true })
}
