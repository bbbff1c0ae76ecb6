import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'

// PGlite as the service runs it: the test setup's stand-in (pglite-template-setup.ts) is a
// subclass, and PGlite creates initdb's helper through its own class, not the subclass, so the
// wrapper under test would never see it.
vi.unmock('@electric-sql/pglite')
const { PGlite } = await import('@electric-sql/pglite')
const { openEmbedded, prepareEmbeddedDatabase } = await import('../../src/db/embedded.ts')

type Helper = InstanceType<typeof PGlite>

const folders: string[] = []
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true })
})

/**
 * Creates a new embedded database in a temporary folder, watching initdb's helper: its memory
 * right after it starts (a full copy, what PGlite's own `slice()` would keep), the sparse copy's
 * reach, and, before each of initdb's PostgreSQL runs (just after initdb restored its copy),
 * whether the helper's memory equals the full copy byte for byte, and whether initdb's files are
 * on disk yet (in the staging folder, prepareEmbeddedDatabase's).
 */
async function createWatched() {
  const dir = mkdtempSync(path.join(tmpdir(), 'initdb-copy-'))
  folders.push(dir)
  const dataDir = path.join(dir, 'data')
  const runs: { args: string[]; restored: boolean; onDisk: boolean }[] = []
  const copies: { scanned: number; bytes: number; pages: number }[] = []
  const create = PGlite.create
  const created = create.bind(PGlite) as (...args: unknown[]) => Promise<Helper>
  PGlite.create = (async (...args: unknown[]) => {
    const pglite = await created(...args)
    if (!(args[0] as { noInitDb?: boolean } | undefined)?.noInitDb) return pglite
    const heap = pglite.Module.HEAPU8
    const full = Uint8Array.prototype.slice.call(heap)
    const copy = heap.slice() as unknown as {
      scanned: number
      bytes: number
      pages: Map<number, Uint8Array>
    }
    copies.push({ scanned: copy.scanned, bytes: copy.bytes, pages: copy.pages.size })
    const callMain = pglite.callMain.bind(pglite)
    pglite.callMain = (main: string[]) => {
      const now = new Uint8Array(pglite.Module.HEAPU8.buffer, 0, full.length)
      runs.push({
        args: main.slice(0, 2),
        restored: Buffer.compare(now, full) === 0,
        onDisk: existsSync(path.join(dataDir, '.creating', 'PG_VERSION')),
      })
      return callMain(main)
    }
    return pglite
  }) as typeof PGlite.create
  try {
    expect(await prepareEmbeddedDatabase(dataDir)).toBe(true)
  } finally {
    PGlite.create = create
  }
  return { runs, copies, dataDir }
}

describe('creating the embedded database: initdb straight into the folder, a sparse copy of its helper', () => {
  it('restores the memory byte for byte before each run, reading only below the heap break', async () => {
    const { runs, copies, dataDir } = await createWatched()

    // One helper, whose memory is PGlite's minimum (128 MB); the copy read up to its heap
    // break (10.9 MB measured) and kept the pages holding anything (45).
    expect(copies).toHaveLength(1)
    const [copy] = copies
    expect(copy?.bytes).toBeGreaterThanOrEqual(128 * 1024 * 1024)
    expect(copy?.scanned).toBeGreaterThan(0)
    expect(copy?.scanned).toBeLessThan((copy?.bytes ?? 0) / 4)
    expect(copy?.pages).toBeGreaterThan(0)
    // initdb runs PostgreSQL several times (-V, --check, --boot, --single), each after a restore.
    expect(runs.length).toBeGreaterThanOrEqual(4)
    expect(runs.filter((run) => !run.restored)).toEqual([])
    // initdb writes into the folder as it goes (PG_VERSION first), not into memory to be
    // written out at the end: by its last run the files are on disk.
    expect(runs.at(-1)?.onDisk).toBe(true)

    // What it made is a database: initdb's settings in postgresql.conf, its modes, and it opens.
    expect(readFileSync(path.join(dataDir, 'postgresql.conf'), 'utf8')).toMatch(
      /^shared_buffers = 32MB/m,
    )
    expect(statSync(path.join(dataDir, 'base')).mode & 0o777).toBe(0o750)
    expect(statSync(path.join(dataDir, 'PG_VERSION')).mode & 0o777).toBe(0o640)
    const db = openEmbedded(dataDir)
    try {
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from pg_database')
      expect(rows[0]?.n).toBe(3)
    } finally {
      await db.close()
    }
  })
})
