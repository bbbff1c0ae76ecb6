/**
 * Makes PGlite's initdb copy only the non-zero pages of its helper instance's memory, reading
 * none of it above the helper's heap break (issue 19: the first start's peak under 400 MB on any
 * kernel). embedded-create.ts installs it; docs/tricks.md says what pins it on PGlite's internals.
 */
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'

/** What the copy reads of a helper's memory: its heap break, in bytes, or the whole memory. */
type ScanLimit = (memory: Uint8Array) => number

/** A copy of a WebAssembly memory's pages that hold anything but zeros (see sparseInitdbCopies). */
export class SparseCopy {
  static readonly pageBytes = 64 * 1024
  static readonly #zeros = new Uint8Array(SparseCopy.pageBytes)

  /** Bytes of memory copied: a restore covers these, as PGlite's full copy would. */
  readonly bytes: number
  /** Bytes read to find the non-zero pages (from 0): the heap break, in whole pages. */
  readonly scanned: number
  readonly pages = new Map<number, Uint8Array>()
  readonly #limit: ScanLimit

  constructor(memory: Uint8Array, limit: ScanLimit) {
    this.bytes = memory.byteLength
    this.#limit = limit
    this.scanned = this.#scanEnd(memory)
    for (let at = 0; at < this.scanned; at += SparseCopy.pageBytes)
      if (!SparseCopy.isZero(memory, at))
        this.pages.set(at, memory.slice(at, at + SparseCopy.pageBytes))
  }

  /**
   * Puts the copy back into `memory`: its own pages, and zeros where others were written since.
   * Pages above the heap break were not written since the last restore (or the copy), so they
   * are not read either; a break below the copy's (a heap given back) reads the whole memory.
   */
  restoreInto(memory: Uint8Array): void {
    const end = this.#scanEnd(memory)
    const scan = end < this.scanned ? this.bytes : Math.min(end, this.bytes)
    for (let at = 0; at < scan; at += SparseCopy.pageBytes) {
      const page = this.pages.get(at)
      if (page) memory.set(page, at)
      // Only a page written since is zeroed: writing an untouched one would make it resident.
      else if (!SparseCopy.isZero(memory, at)) memory.fill(0, at, at + SparseCopy.pageBytes)
    }
  }

  /** Reached only if PGlite restored the copy some other way than through the wrapper. */
  get length(): never {
    throw new Error(
      'PGlite restored its initdb memory copy without sparseInitdbCopies: its initdb has changed; see src/db/initdb-copy.ts',
    )
  }

  /** The limit in whole pages, within the memory; the whole memory for a break out of range. */
  #scanEnd(memory: Uint8Array): number {
    const limit = this.#limit(memory)
    if (!Number.isInteger(limit) || limit <= 0 || limit > memory.byteLength)
      return memory.byteLength
    return Math.ceil(limit / SparseCopy.pageBytes) * SparseCopy.pageBytes
  }

  static isZero(memory: Uint8Array, at: number): boolean {
    // Buffer#equals is a memcmp. Reading an untouched page leaves it untouched only where the
    // kernel maps its zero page for a read fault: hence the break (docs/tricks.md).
    return Buffer.from(memory.buffer, at, SparseCopy.pageBytes).equals(SparseCopy.#zeros)
  }
}

/** The little of the WebAssembly API used here (the project's TypeScript libraries have none). */
type Exports = Record<string, unknown>
type Instantiate = (
  source: unknown,
  imports?: Record<string, Record<string, unknown>>,
) => Promise<unknown>
const wasm = (
  globalThis as unknown as {
    WebAssembly: { instantiate: Instantiate; Memory: abstract new (...args: never) => object }
  }
).WebAssembly

/** The exports of the instances PGlite created, by the memory each was given (`env.memory`). */
const exportsOf = new WeakMap<object, Exports>()
let capturing = 0
let uncaptured = wasm.instantiate

/** An instance's exports, from either of WebAssembly.instantiate's answers. */
const exportsIn = (made: unknown): Exports | undefined => {
  const instance = (made as { instance?: unknown })?.instance ?? made
  return (instance as { exports?: Exports } | undefined)?.exports
}

/**
 * Runs `create` with WebAssembly.instantiate noting each instance's exports by its memory, and
 * puts the original back once no creation needs it. The only way to a helper's heap break:
 * PGlite's Module keeps neither its instance nor `_emscripten_get_sbrk_ptr`.
 */
async function capturingExports<T>(create: () => Promise<T>): Promise<T> {
  if (capturing++ === 0) {
    const original = wasm.instantiate
    uncaptured = original
    wasm.instantiate = (source, imports) => {
      const result = Reflect.apply(original, wasm, [source, imports]) as Promise<unknown>
      const memory = imports?.env?.memory
      if (memory instanceof wasm.Memory)
        void result.then(
          (made) => {
            const exports = exportsIn(made)
            if (exports) exportsOf.set(memory, exports)
          },
          () => {},
        )
      return result
    }
  }
  try {
    return await create()
  } finally {
    if (--capturing === 0) wasm.instantiate = uncaptured
  }
}

/**
 * The heap break of the Emscripten module whose `exports` these are, as it stands in `memory`
 * (`*emscripten_get_sbrk_ptr()`); 0 (read everything) without the export. Emscripten's malloc
 * (dlmalloc, MORECORE_CANNOT_TRIM) only moves it up, and its mmap takes memory from malloc:
 * nothing above it was ever written, and the stack and static data lie below it.
 */
function heapBreak(exports: Exports | undefined): ScanLimit {
  const sbrkPointer = exports?.emscripten_get_sbrk_ptr
  if (typeof sbrkPointer !== 'function') return () => 0
  let at: number | undefined
  return (memory) => {
    at ??= (sbrkPointer as () => number)()
    return new DataView(memory.buffer).getUint32(at, true)
  }
}

/**
 * Makes PGlite's initdb copy only the non-zero pages of its helper instance's memory. To create
 * a database PGlite starts a helper instance (`PGlite.create({ noInitDb: true, … })`) and runs
 * initdb against it, which copies the helper's whole memory first (`Module.HEAPU8.slice()`) and
 * writes the copy back (`Module.HEAPU8.set(copy)`) before each of the PostgreSQL runs it makes
 * (PGlite 0.5.16–0.5.17, src/initdb.ts): 128 MB at the least (the module's minimum memory), and
 * writing it back makes all 128 MB of the helper's memory resident too. Right after the helper
 * starts, 45 of its 2,048 pages of 64 KB hold anything but zeros (measured), all below its heap
 * break (10.8 MB), so the helper's `Module.HEAPU8` is given a `slice()` that keeps those pages
 * only and a `set()` that puts them back and zeroes the pages written since, both reading up to
 * the break alone (62 MB at most): the memory ends up byte for byte as PGlite's own restore
 * leaves it. Any other `slice` or `set` is the typed array's own. If PGlite ever takes the copy
 * some other way, this changes nothing (the creation costs what it did); if it restores it some
 * other way, the copy's `length` throws, failing the creation loudly; without the break (the
 * instance not seen) the whole memory is read, as before. Installed once, on PGlite's class:
 * every creation in this process, `memory://` ones included, gets it.
 */
export function sparseInitdbCopies(): void {
  const create = PGlite.create.bind(PGlite) as (...args: unknown[]) => Promise<PGlite>
  PGlite.create = (async (...args: unknown[]) => {
    const options = (typeof args[0] === 'string' ? args[1] : args[0]) as PGliteOptions | undefined
    if (!options?.noInitDb) return create(...args)
    const pglite = await capturingExports(() => create(...args))
    const module = pglite.Module as PGlite['Module'] & { wasmMemory?: object }
    const memory = module.wasmMemory
    wrapHeap(module, heapBreak(memory && exportsOf.get(memory)))
    return pglite
  }) as typeof PGlite.create
}

/** Gives `module.HEAPU8` (reassigned by Emscripten when the memory grows) SparseCopy's slice and set. */
function wrapHeap(module: PGlite['Module'], limit: ScanLimit): void {
  let heap = module.HEAPU8
  const wrap = (view: Uint8Array) =>
    Object.assign(new Uint8Array(view.buffer), {
      slice(this: Uint8Array, start?: number, end?: number) {
        return start === undefined && end === undefined
          ? new SparseCopy(this, limit)
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
