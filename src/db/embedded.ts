/**
 * The embedded database (PGlite, when no DATABASE_URL is set): its server settings, the lock
 * that makes one process its only user, its creation in a staging folder so that a start cut
 * short never leaves half a database behind, and opening it. connect.ts wraps what openEmbedded
 * opens with the service's session settings and Kysely; the PostgreSQL pool is there too.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { folderProblem } from '../config-checks.ts'
// Also installs sparseInitdbCopies on PGlite before anything here creates a database.
import { createDatabase, type PGliteStartOptions } from './embedded-create.ts'

/**
 * Server settings of the embedded database, given on PGlite's command line after its own
 * (`PGlite.defaultStartParams`), so they hold for a data folder made by any earlier version
 * too. PGlite zeroes its shared memory when it opens a database, so all of `shared_buffers`
 * is resident from the first moment: PostgreSQL's 128 MB default (what initdb writes) made
 * 150 MB of a 255 MB start. 32 MB holds a new database whole (its own catalogue and tables
 * are about 8 MB) and the hot pages of a grown one; pages beyond it are read back through
 * the operating system's cache. Measured in docs/benchmarks.md, "The embedded default".
 */
export const embeddedSettings = ['-c', 'shared_buffers=32MB']

/** PGlite's options for the embedded database in `dataDir` (a folder or `memory://`). */
const pgliteOptions: PGliteStartOptions = {
  startParams: [...PGlite.defaultStartParams, ...embeddedSettings],
  // initdb passes these to the server it creates the database with, and writes them into the
  // new folder's postgresql.conf.
  initDbStartParams: embeddedSettings,
}

/**
 * Opens the embedded database in `dataDir` (a folder made by prepareEmbeddedDatabase, or
 * `memory://`), holding the folder's lock until the database is closed. Throws
 * EmbeddedDatabaseInUse when another process (or another open in this one) has it.
 */
export function openEmbedded(dataDir: string): PGlite {
  if (!dataDir.startsWith('memory://')) makeDataDir(dataDir)
  const memory = dataDir.startsWith('memory://')
  if (!memory) holdDataDir(dataDir).opened = true
  const pglite = new PGlite(dataDir, pgliteOptions)
  if (!memory) {
    const close = pglite.close.bind(pglite)
    pglite.close = async () => {
      try {
        await close()
      } finally {
        releaseDataDir(dataDir)
      }
    }
  }
  return pglite
}

const stagingFolder = '.creating'
const lockFile = '.lock'

/** Another process (or another open in this one) has the embedded database open. */
export class EmbeddedDatabaseInUse extends Error {
  override name = 'EmbeddedDatabaseInUse'
}

/** DATA_DIR cannot be the embedded database's folder: a file, or a folder that cannot be made. */
export class DataDirError extends Error {
  override name = 'DataDirError'
}

/**
 * Makes `dataDir` (folderProblem: never mkdir's `recursive`, which loops for ever under /proc),
 * or throws DataDirError naming DATA_DIR and what is in the way.
 */
function makeDataDir(dataDir: string): void {
  const problem = folderProblem(dataDir)
  if (problem)
    throw new DataDirError(
      `DATA_DIR ${dataDir} cannot hold the embedded database: ${problem}. Give a folder this process can write (it is made when missing), or set DATABASE_URL.`,
    )
}

const held = new Map<string, { opened: boolean }>()

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Makes this process the one user of the embedded database in `dataDir`: PGlite keeps no lock
 * of its own, and two processes writing one data folder lose each other's writes (an order
 * acknowledged by one was gone after a restart). `<dataDir>/.lock` holds the owner's pid; a lock
 * whose process is gone (a crash, a container restarted with the same pid) is taken over.
 * Idempotent within this process until the database is opened (prepare, then connect); opening
 * it a second time in this process throws too. Throws EmbeddedDatabaseInUse.
 */
function holdDataDir(dataDir: string): { opened: boolean } {
  const key = path.resolve(dataDir)
  const mine = held.get(key)
  if (mine && !mine.opened) return mine
  if (mine) throw inUse(dataDir, process.pid)
  makeDataDir(dataDir)
  const file = path.join(dataDir, lockFile)
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err
      const pid = Number(readFileSync(file, 'utf8').trim())
      // Our own pid in a lock this process did not take is a leftover of an earlier life.
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid))
        throw inUse(dataDir, pid)
      unlinkSync(file)
    }
  }
  const entry = { opened: false }
  held.set(key, entry)
  return entry
}

function releaseDataDir(dataDir: string): void {
  const key = path.resolve(dataDir)
  if (!held.delete(key)) return
  rmSync(path.join(dataDir, lockFile), { force: true })
}

const inUse = (dataDir: string, pid: number) =>
  new EmbeddedDatabaseInUse(
    `The embedded database in ${dataDir} is in use by process ${pid}${pid === process.pid ? ' (this one)' : ''}: stop it first, or set DATABASE_URL to share a PostgreSQL server. (A lock whose process has ended is taken over by itself: delete ${path.join(dataDir, lockFile)} only if process ${pid} is not this service but another program that was given its pid.)`,
  )

/** The names in `dir`, or none when it does not exist. */
function entriesOf(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/**
 * What a command (`npm run staff`, `npm run mail`) says when DATA_DIR held no database and it
 * makes one (prepareEmbeddedDatabase's onCreate): a mistyped folder would otherwise take a staff
 * user or a requeue, report success, and leave the service's own database as it was.
 */
export const commandCreatesNotice = (dataDir: string) =>
  `No embedded database in DATA_DIR ${dataDir} yet: creating one, which the service uses only when started with this DATA_DIR (a typo? give the folder the service runs with) …`

/**
 * Makes `dataDir` hold a whole embedded database before anything opens it, and returns true
 * when it had to create one (a few seconds, 15 s and more on a busy machine: `onCreate` is told
 * first, with whether an earlier creation was interrupted, so the start can say what it does).
 *
 * The database is created in memory and written out into `<dataDir>/.creating` (createDatabase);
 * once all its files are there, they move up into `dataDir` (renames within one folder: also on a mounted volume) and
 * `.creating` is removed last. So a `dataDir` with `.creating` in it is a creation that was
 * cut short: everything in it was made by that start (it began from an empty folder), and is
 * deleted and created anew. A `dataDir` with a `PG_VERSION` is used as it is (an existing
 * database); any other non-empty one throws DataDirError; `memory://` needs nothing.
 */
export async function prepareEmbeddedDatabase(
  dataDir: string,
  onCreate: (dataDir: string, interrupted: boolean) => void = () => {},
): Promise<boolean> {
  if (dataDir.startsWith('memory://')) return false
  holdDataDir(dataDir)
  // lost+found is the file system's, in the root of a fresh volume mounted as DATA_DIR.
  const entries = entriesOf(dataDir).filter((e) => e !== lockFile && e !== 'lost+found')
  const interrupted = entries.includes(stagingFolder)
  if (entries.length > 0 && !interrupted) {
    if (entries.includes('PG_VERSION')) return false
    // PGlite would write a database in among them (a home folder given by mistake filled up).
    releaseDataDir(dataDir)
    throw new DataDirError(
      `DATA_DIR ${dataDir} holds files but no embedded database (no PG_VERSION in it, first: ${entries.sort()[0]}): give an empty or new folder, where the database is created, or the folder an earlier start created.`,
    )
  }
  onCreate(dataDir, interrupted)
  for (const entry of entries) rmSync(path.join(dataDir, entry), { recursive: true, force: true })
  const staging = path.join(dataDir, stagingFolder)
  mkdirSync(staging, { recursive: true })
  await createDatabase(staging, pgliteOptions)
  for (const entry of readdirSync(staging))
    renameSync(path.join(staging, entry), path.join(dataDir, entry))
  rmSync(staging, { recursive: true, force: true })
  return true
}
