/**
 * Creating a new embedded database with less memory than PGlite's own way (issue 19's peak under
 * 400 MB): initdb writes straight into the target folder, with initdb's copy of its helper's
 * memory made sparse (initdb-copy.ts). embedded.ts stages and moves what createDatabase writes;
 * docs/tricks.md says what pins the tricks on PGlite's internals.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { MemoryFS, PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { sparseInitdbCopies } from './initdb-copy.ts'

/** The PGlite options the embedded database runs with: its server's command line. */
export type PGliteStartOptions = PGliteOptions & { startParams: string[] }

/** Where PGlite keeps the database in its virtual file system (PGDATA in its src/initdb.ts). */
const pgliteDataFolder = '/pglite/data'

type EmscriptenOptions = Awaited<ReturnType<MemoryFS['init']>>['emscriptenOpts']

/**
 * PGlite's in-memory file system with the data folder mounted from `folder` on disk (Emscripten's
 * NODEFS, as PGlite's own NodeFS mounts it). PGlite has initdb write into an in-memory instance's
 * files directly (through its helper's PROXYFS), where for any other file system it has initdb
 * write into the helper's memory, dumps that as a tar (40 MB, 16 of them WAL) and unpacks it: some
 * 200 MB of copies at once (the tar, a Blob of it, its ArrayBuffer). Being a MemoryFS (PGlite
 * 0.5.16–0.5.17 decide by `instanceof MemoryFS`), this one gets the direct writes, and they land
 * on disk: no copy of the database in memory (40–58 MB of file buffers, written out after). A
 * PGlite that stopped proxying it would take the tar's way into the same folder: slower, not wrong.
 */
class FolderBackedMemoryFS extends MemoryFS {
  readonly #folder: string

  constructor(folder: string) {
    super()
    this.#folder = path.resolve(folder)
  }

  override async init(pg: PGlite, options: EmscriptenOptions) {
    const { emscriptenOpts } = await super.init(pg, options)
    const mountData = (module: PGlite['Module'] & { NODEFS: unknown }) => {
      module.FS.mkdirTree(pgliteDataFolder)
      module.FS.mount(module.NODEFS, { root: this.#folder }, pgliteDataFolder)
    }
    return {
      emscriptenOpts: { ...emscriptenOpts, preRun: [...(emscriptenOpts.preRun ?? []), mountData] },
    }
  }
}

/**
 * Creates a new database in the empty folder `target`: PGlite creates it on a FolderBackedMemoryFS
 * (initdb writing into `target`), opens it and closes it (a clean shutdown). The files get the
 * modes initdb gives them (0640 and 0750). Throws what PGlite throws when it cannot create the
 * database, or when `target` has no PG_VERSION afterwards.
 */
export async function createDatabase(target: string, options: PGliteStartOptions): Promise<void> {
  const pglite = new PGlite({
    ...options,
    fs: new FolderBackedMemoryFS(target),
    // This one run only opens and closes the database: the fewest buffers PostgreSQL takes
    // (16) instead of 32 MB resident. Nothing of it is written to the files: initdb wrote
    // postgresql.conf (embeddedSettings), and pg_control keeps no shared_buffers.
    startParams: [...options.startParams, '-c', 'shared_buffers=128kB'],
  })
  await pglite.waitReady
  await pglite.close()
  if (!existsSync(path.join(target, 'PG_VERSION')))
    throw new Error(`PGlite left no database in ${target}: has its layout changed?`)
}

sparseInitdbCopies()
