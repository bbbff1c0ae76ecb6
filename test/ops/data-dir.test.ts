import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { runMail } from '../../src/mail/cli.ts'
import { runStaff } from '../../src/staff/cli.ts'
import { failedStart } from '../helpers/server.ts'

// A DATA_DIR the embedded database cannot live in stops the start with one line naming it.
// /proc/nope hung the start at full CPU for ever, without a word (mkdirSync's `recursive`
// loops where mkdir answers ENOENT under a folder that exists); a file was "Error EEXIST: …,
// mkdir '…'", naming no setting.

const scratch = mkdtempSync(path.join(tmpdir(), 'data-dir-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const sentence = (dataDir: string, problem: string) =>
  `Could not start: DATA_DIR ${dataDir} cannot hold the embedded database: ${problem}. Give a folder this process can write (it is made when missing), or set DATABASE_URL.`

describe('npm start with a DATA_DIR that cannot be a folder', { timeout: 120_000 }, () => {
  it('/proc/nope (mkdir fails even for root): one line, exit 1', async () => {
    const run = await failedStart({ DATA_DIR: '/proc/nope' })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      sentence('/proc/nope', "ENOENT: no such file or directory, mkdir '/proc/nope'"),
    ])
  })

  it('a file, or a folder under a file: one line naming the file, exit 1', async () => {
    const file = path.join(scratch, 'a-file')
    writeFileSync(file, '')
    for (const dataDir of [file, path.join(file, 'data')]) {
      const run = await failedStart({ DATA_DIR: dataDir })
      expect(run.code, run.output).toBe(1)
      expect(run.lines).toEqual([sentence(dataDir, `${file} is not a folder`)])
    }
  })
  // A folder of other files was filled with a database in among them (PGlite's own initdb);
  // junk with a PG_VERSION said only "PGlite failed to initialize properly".
  it('a folder of other files: one line, nothing written into it', async () => {
    const dataDir = path.join(scratch, 'home')
    mkdirSync(dataDir)
    writeFileSync(path.join(dataDir, 'notes.txt'), 'mine')
    const run = await failedStart({ DATA_DIR: dataDir })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      `Could not start: DATA_DIR ${dataDir} holds files but no embedded database (no PG_VERSION in it, first: notes.txt): give an empty or new folder, where the database is created, or the folder an earlier start created.`,
    ])
    expect(readdirSync(dataDir)).toEqual(['notes.txt'])
  })

  it('a folder whose database cannot be opened: one line naming DATA_DIR and its version', async () => {
    const dataDir = path.join(scratch, 'old')
    mkdirSync(dataDir)
    writeFileSync(path.join(dataDir, 'PG_VERSION'), '15\n')
    const run = await failedStart({ DATA_DIR: dataDir })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      `Could not start: The embedded database in DATA_DIR ${dataDir} (PG_VERSION 15) could not be opened (PGlite failed to initialize properly): its files are damaged or were not written by this service's embedded PostgreSQL. Move the folder away to start on a new one (keep it to restore from), or set DATABASE_URL.`,
    ])
  })

  // PGlite's WebAssembly aborted on these, and the start printed only "RuntimeError: Aborted().
  // Build with -sASSERTIONS for more info.", naming neither DATA_DIR nor what to check.
  const uid = process.getuid?.() ?? 0
  const aborted = (dataDir: string) =>
    `Could not start: The embedded database in DATA_DIR ${dataDir} (PG_VERSION 18) could not be opened (its PostgreSQL aborted): its files could not be read or are damaged. Check that the folder and every file in it belong to, and can be read and written by, the user this service runs as (uid ${uid}); or restore the folder from a backup, or set DATABASE_URL.`
  /** A whole embedded database in a new folder `name` (the run's fresh one: pglite-template.ts). */
  const existingDatabase = async (name: string) => {
    const dataDir = path.join(scratch, name)
    const template = new Blob([readFileSync(inject('pgliteTemplate'))])
    const pglite = new PGlite(dataDir, { loadDataDir: template })
    await pglite.waitReady
    await pglite.close()
    return dataDir
  }

  it('a database whose pg_control is cut to nothing: one line naming DATA_DIR, no stack', async () => {
    const dataDir = await existingDatabase('cut')
    writeFileSync(path.join(dataDir, 'global', 'pg_control'), '')
    const run = await failedStart({ DATA_DIR: dataDir })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([aborted(dataDir)])
  })

  // Root reads any file whatever its mode: this runs only as another user.
  it.skipIf(uid === 0)('a database with a file this user cannot read: the same line', async () => {
    const dataDir = await existingDatabase('unreadable')
    const control = path.join(dataDir, 'global', 'pg_control')
    chmodSync(control, 0)
    try {
      const run = await failedStart({ DATA_DIR: dataDir })
      expect(run.code, run.output).toBe(1)
      expect(run.lines).toEqual([aborted(dataDir)])
    } finally {
      chmodSync(control, 0o600)
    }
  })
})

// A command's memory:// database is its own, gone at its exit: `npm run staff -- add` said
// "Added … as admin." and `npm run migrate` "Applied: …" about a database no service would see.
describe('the commands on DATA_DIR=memory://', () => {
  const refusal =
    "Invalid configuration: DATA_DIR=memory:// gives this command an embedded database of its own, in its memory and gone when it exits: nothing it does would reach the service's data. Set DATA_DIR to the service's data folder (like ./data), or DATABASE_URL to its PostgreSQL database."
  // DATABASE_URL= (empty: unset) whatever this process's environment holds.
  const env = {
    DATA_DIR: 'memory://',
    DATABASE_URL: '',
    STAFF_PASSWORD: 'a-long-passphrase-here-0',
  }
  const io = () => {
    const out = { stdout: '', stderr: '' }
    const sink = {
      stdout: { write: (text: string) => (out.stdout += text) },
      stderr: { write: (text: string) => (out.stderr += text) },
    }
    return { out, sink }
  }

  it('npm run staff refuses, saying why and what to set, exit 1', async () => {
    const { out, sink } = io()
    const code = await runStaff(['add', 'memory@example.com', '--role', 'admin'], env, {
      ...sink,
      stdin: process.stdin,
    })
    expect(out).toEqual({ stdout: '', stderr: `${refusal}\n` })
    expect(code).toBe(1)
  })

  it('npm run mail refuses the same way', async () => {
    const { out, sink } = io()
    expect(await runMail(['requeue-failed'], env, sink)).toBe(1)
    expect(out).toEqual({ stdout: '', stderr: `${refusal}\n` })
  })

  it('npm run migrate refuses the same way, exit 1', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url))
    const run = spawnSync(process.execPath, ['src/db/migrate-cli.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: 'memory://' },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(`${refusal}\n`)
    expect(run.status).toBe(1)
  })
})
