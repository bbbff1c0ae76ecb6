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
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'

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
const pgliteOptions = {
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
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
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
  mkdirSync(dataDir, { recursive: true })
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
    `The embedded database in ${dataDir} is in use by process ${pid}${pid === process.pid ? ' (this one)' : ''}: stop it first, or set DATABASE_URL to share a PostgreSQL server. If no such process runs, delete ${path.join(dataDir, lockFile)}.`,
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
 * Makes `dataDir` hold a whole embedded database before anything opens it, and returns true
 * when it had to create one (a few seconds, 15 s and more on a busy machine: `onCreate` is told
 * first, with whether an earlier creation was interrupted, so the start can say what it does).
 *
 * The database is created in memory and written out into `<dataDir>/.creating` (createDatabase);
 * once all its files are there, they move up into `dataDir` (renames within one folder: also on a mounted volume) and
 * `.creating` is removed last. So a `dataDir` with `.creating` in it is a creation that was
 * cut short: everything in it was made by that start (it began from an empty folder), and is
 * deleted and created anew. A `dataDir` that holds anything else is used as it is (an existing
 * database); `memory://` needs nothing.
 */
export async function prepareEmbeddedDatabase(
  dataDir: string,
  onCreate: (dataDir: string, interrupted: boolean) => void = () => {},
): Promise<boolean> {
  if (dataDir.startsWith('memory://')) return false
  holdDataDir(dataDir)
  const entries = entriesOf(dataDir).filter((entry) => entry !== lockFile)
  const interrupted = entries.includes(stagingFolder)
  if (entries.length > 0 && !interrupted) return false
  onCreate(dataDir, interrupted)
  for (const entry of entries) rmSync(path.join(dataDir, entry), { recursive: true, force: true })
  const staging = path.join(dataDir, stagingFolder)
  mkdirSync(staging, { recursive: true })
  await createDatabase(staging)
  for (const entry of readdirSync(staging))
    renameSync(path.join(staging, entry), path.join(dataDir, entry))
  rmSync(staging, { recursive: true, force: true })
  return true
}

/** Where PGlite keeps the database in its virtual file system (PGDATA in its src/initdb.ts). */
const pgliteDataFolder = '/pglite/data'

/**
 * Creates a new database in the empty folder `target`: PGlite creates it in memory (`memory://`:
 * initdb writes straight into that instance's in-memory files), opens it, closes it (a clean
 * shutdown), and its files are written out. Given a folder instead, PGlite would have initdb
 * write into a helper instance's memory, dump that as a tar (40 MB, 16 of them WAL) and unpack
 * it into the folder: some 200 MB of copies at once (the tar, a Blob of it, its ArrayBuffer),
 * measured in docs/benchmarks.md, "The embedded default". The files keep the modes initdb gave
 * them (0640 and 0750). Throws what PGlite throws when it cannot create the database.
 */
async function createDatabase(target: string): Promise<void> {
  const pglite = new PGlite('memory://', {
    ...pgliteOptions,
    // This one run only opens and closes the database: the fewest buffers PostgreSQL takes
    // (16) instead of 32 MB resident. Nothing of it is written to the files: initdb wrote
    // postgresql.conf (embeddedSettings), and pg_control keeps no shared_buffers.
    startParams: [...pgliteOptions.startParams, '-c', 'shared_buffers=128kB'],
  })
  await pglite.waitReady
  // Kept past close(): closing stops PostgreSQL and its module, not the in-memory file system.
  const fs = pglite.Module.FS
  await pglite.close()
  if (!fs.analyzePath(`${pgliteDataFolder}/PG_VERSION`).exists)
    throw new Error(`PGlite left no database in ${pgliteDataFolder}: has its layout changed?`)
  writeTree(fs, pgliteDataFolder, target, new Uint8Array(1024 * 1024))
}

type PGliteFs = PGlite['Module']['FS']

/**
 * Writes the folder `from` of PGlite's virtual file system into `to`, through `buffer`: no
 * copy of a whole file (readFile's) is made, so no 40 MB of them wait for the collector.
 */
function writeTree(fs: PGliteFs, from: string, to: string, buffer: Uint8Array): void {
  mkdirSync(to, { recursive: true, mode: fs.stat(from).mode & 0o777 })
  for (const name of fs.readdir(from)) {
    if (name === '.' || name === '..') continue
    const source = `${from}/${name}`
    const { mode } = fs.stat(source)
    if (fs.isDir(mode)) {
      writeTree(fs, source, path.join(to, name), buffer)
      continue
    }
    const input = fs.open(source, 'r')
    const output = openSync(path.join(to, name), 'wx', mode & 0o777)
    try {
      for (;;) {
        const read = fs.read(input, buffer, 0, buffer.length)
        if (read === 0) break
        writeSync(output, buffer, 0, read)
      }
    } finally {
      fs.close(input)
      closeSync(output)
    }
  }
}

/** A copy of a WebAssembly memory's pages that hold anything but zeros (see sparseInitdbCopies). */
class SparseCopy {
  static readonly pageBytes = 64 * 1024
  static readonly #zeros = new Uint8Array(SparseCopy.pageBytes)

  /** Bytes of memory copied: a restore covers these, as PGlite's full copy would. */
  readonly bytes: number
  readonly pages = new Map<number, Uint8Array>()

  constructor(memory: Uint8Array) {
    this.bytes = memory.byteLength
    for (let at = 0; at < this.bytes; at += SparseCopy.pageBytes)
      if (!SparseCopy.isZero(memory, at))
        this.pages.set(at, memory.slice(at, at + SparseCopy.pageBytes))
  }

  /** Puts the copy back into `memory`: its own pages, and zeros where others were written since. */
  restoreInto(memory: Uint8Array): void {
    for (let at = 0; at < this.bytes; at += SparseCopy.pageBytes) {
      const page = this.pages.get(at)
      if (page) memory.set(page, at)
      // Only a page written since is zeroed: writing an untouched one would make it resident.
      else if (!SparseCopy.isZero(memory, at)) memory.fill(0, at, at + SparseCopy.pageBytes)
    }
  }

  /** Reached only if PGlite restored the copy some other way than through the wrapper. */
  get length(): never {
    throw new Error(
      'PGlite restored its initdb memory copy without sparseInitdbCopies: its initdb has changed; see src/db/embedded.ts',
    )
  }

  static isZero(memory: Uint8Array, at: number): boolean {
    // Buffer#equals is a memcmp; reading an untouched page leaves it untouched.
    return Buffer.from(memory.buffer, at, SparseCopy.pageBytes).equals(SparseCopy.#zeros)
  }
}

/**
 * Makes PGlite's initdb copy only the non-zero pages of its helper instance's memory. To create
 * a database PGlite starts a helper instance (`PGlite.create({ noInitDb: true, … })`) and runs
 * initdb against it, which copies the helper's whole memory first (`Module.HEAPU8.slice()`) and
 * writes the copy back (`Module.HEAPU8.set(copy)`) before each of the PostgreSQL runs it makes
 * (PGlite 0.5.16–0.5.17, src/initdb.ts): 128 MB at the least (the module's minimum memory), and
 * writing it back makes all 128 MB of the helper's memory resident too. Right after the helper
 * starts, 45 of its 2,048 pages of 64 KB hold anything but zeros (measured), so the helper's
 * `Module.HEAPU8` is given a `slice()` that keeps those pages only and a `set()` that puts them
 * back and zeroes the pages written since: the memory ends up byte for byte as PGlite's own
 * restore leaves it. Any other `slice` or `set` is the typed array's own. If PGlite ever takes
 * the copy some other way, this changes nothing (the creation costs what it did); if it restores
 * it some other way, the copy's `length` throws, failing the creation loudly. Installed once, on
 * PGlite's class: every creation in this process, `memory://` ones included, gets it.
 */
function sparseInitdbCopies(): void {
  const create = PGlite.create.bind(PGlite) as (...args: unknown[]) => Promise<PGlite>
  PGlite.create = (async (...args: unknown[]) => {
    const pglite = await create(...args)
    const options = (typeof args[0] === 'string' ? args[1] : args[0]) as PGliteOptions | undefined
    if (options?.noInitDb) wrapHeap(pglite.Module)
    return pglite
  }) as typeof PGlite.create
}

/** Gives `module.HEAPU8` (reassigned by Emscripten when the memory grows) SparseCopy's slice and set. */
function wrapHeap(module: PGlite['Module']): void {
  let heap = module.HEAPU8
  const wrap = (view: Uint8Array) =>
    Object.assign(new Uint8Array(view.buffer), {
      slice(this: Uint8Array, start?: number, end?: number) {
        return start === undefined && end === undefined
          ? new SparseCopy(this)
          : Uint8Array.prototype.slice.call(this, start, end)
      },
      set(this: Uint8Array, source: ArrayLike<number> | SparseCopy, offset?: number) {
        if (source instanceof SparseCopy) source.restoreInto(this)
        else Uint8Array.prototype.set.call(this, source, offset)
      },
    })
  Object.defineProperty(module, 'HEAPU8', {
    configurable: true,
    enumerable: true,
    get: () => wrap(heap),
    set: (view: Uint8Array) => {
      heap = view
    },
  })
}

sparseInitdbCopies()
