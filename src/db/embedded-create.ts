/**
 * Creating a new embedded database with less memory than PGlite's own way (issue 19's peak under
 * 400 MB): in memory, written out file by file, with initdb's copy of its helper's memory made
 * sparse. embedded.ts stages and moves what createDatabase writes; docs/tricks.md says what pins
 * the tricks on PGlite's internals.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import path from 'node:path'
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'

/** The PGlite options the embedded database runs with: its server's command line. */
export type PGliteStartOptions = PGliteOptions & { startParams: string[] }

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
export async function createDatabase(target: string, options: PGliteStartOptions): Promise<void> {
  const pglite = new PGlite('memory://', {
    ...options,
    // This one run only opens and closes the database: the fewest buffers PostgreSQL takes
    // (16) instead of 32 MB resident. Nothing of it is written to the files: initdb wrote
    // postgresql.conf (embeddedSettings), and pg_control keeps no shared_buffers.
    startParams: [...options.startParams, '-c', 'shared_buffers=128kB'],
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
      'PGlite restored its initdb memory copy without sparseInitdbCopies: its initdb has changed; see src/db/embedded-create.ts',
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
