import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import { EmbeddedDatabaseInUse, prepareEmbeddedDatabase } from '../../src/db/embedded.ts'
import { type ServerProcess, startServer } from '../helpers/server.ts'

// The embedded database belongs to one process: a second service, or `npm run staff` while the
// service runs, on the same folder lost acknowledged orders (each process wrote its own view
// of the files, and the last to write won).

const folders: string[] = []
const servers: ServerProcess[] = []
afterAll(async () => {
  for (const s of servers) if (s.proc.exitCode === null) s.proc.kill('SIGKILL')
  await Promise.all(servers.map((s) => s.exited))
  for (const f of folders) rmSync(f, { recursive: true, force: true })
})

const freshFolder = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'embedded-lock-'))
  folders.push(dir)
  return path.join(dir, 'data')
}

/** Runs a command of the service (`node <script> ...args`) to its end. */
function run(script: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, output })),
  )
}

describe('the embedded database has one process at a time', { timeout: 300_000 }, () => {
  it('refuses a second service and the staff command while the service runs', async () => {
    const dataDir = freshFolder()
    const env = { DATA_DIR: dataDir, RATE_LIMIT_MAX: '0' }
    const first = await startServer(env, { timeoutMs: 170_000 })
    servers.push(first)

    const second = await run('src/server.ts', [], { ...env, PORT: '0', HOST: '127.0.0.1' })
    expect(second.code).not.toBe(0)
    expect(second.output).toContain(`The embedded database in ${dataDir} is in use by process`)

    const staff = await run('src/staff/cli.ts', ['add', 'ada@example.com', '--role', 'admin'], {
      ...env,
      STAFF_PASSWORD: 'a long enough password',
    })
    expect(staff.code).not.toBe(0)
    expect(staff.output).toContain('is in use by process')

    const res = await fetch(`${first.url}/readyz`)
    expect(res.status).toBe(200)
    await first.kill('SIGTERM')
    expect(existsSync(path.join(dataDir, '.lock'))).toBe(false)

    // Once the service has stopped, the command runs.
    const after = await run('src/staff/cli.ts', ['add', 'ada@example.com', '--role', 'admin'], {
      ...env,
      STAFF_PASSWORD: 'a long enough password',
    })
    expect(after.output).not.toContain('in use')
    expect(after.code).toBe(0)
  })

  it('has `npm run migrate` refuse a folder in use in one line, and a bad setting too', async () => {
    const dataDir = freshFolder()
    mkdirSync(dataDir, { recursive: true })
    // This test's own process holds the folder, as a running service would.
    writeFileSync(path.join(dataDir, '.lock'), String(process.pid))
    const migrate = await run('src/db/migrate-cli.ts', [], { DATA_DIR: dataDir })
    expect(migrate.code).toBe(1)
    expect(migrate.output.trim().split('\n')).toEqual([
      expect.stringMatching(
        `^Migration failed: The embedded database in ${dataDir} is in use by process ${process.pid}: `,
      ),
    ])
    const bad = await run('src/db/migrate-cli.ts', [], { DATA_DIR: dataDir, PORT: 'eighty' })
    expect(bad.code).toBe(1)
    expect(bad.output.trim().split('\n')).toEqual([
      // One prefix, as at the service's start: not "Migration failed: Invalid configuration: …".
      expect.stringMatching(/^Invalid configuration: PORT /),
    ])
  })

  it('has `npm run migrate -- --help` print its usage without opening anything', async () => {
    const dataDir = freshFolder()
    for (const flag of ['--help', '-h']) {
      const help = await run('src/db/migrate-cli.ts', [flag], { DATA_DIR: dataDir })
      expect(help.code, flag).toBe(0)
      expect(help.output).toMatch(/^Usage: npm run migrate\n/)
    }
    // No embedded database was made, nor its lock taken.
    expect(existsSync(dataDir)).toBe(false)
    for (const args of [['--bogus'], ['up']]) {
      const bad = await run('src/db/migrate-cli.ts', args, { DATA_DIR: dataDir })
      expect(bad.code, args[0]).toBe(2)
      expect(bad.output).toContain('npm run migrate takes no arguments.\nUsage: npm run migrate\n')
    }
    expect(existsSync(dataDir)).toBe(false)
  })

  it('takes over a lock whose process is gone, and refuses a second open in one process', async () => {
    const dataDir = freshFolder()
    await prepareEmbeddedDatabase(dataDir)
    const db = connect({ dataDir })
    await sql`select 1`.execute(db)
    await db.destroy()
    // A crashed owner: a pid that cannot be running (above Linux's pid_max of 2^22).
    writeFileSync(path.join(dataDir, '.lock'), String(2 ** 22 + 7))
    await prepareEmbeddedDatabase(dataDir)
    const reopened = connect({ dataDir })
    await sql`select 1`.execute(reopened)
    try {
      expect(() => connect({ dataDir })).toThrow(EmbeddedDatabaseInUse)
      await expect(prepareEmbeddedDatabase(dataDir)).rejects.toThrow(EmbeddedDatabaseInUse)
    } finally {
      await reopened.destroy()
    }
    expect(existsSync(path.join(dataDir, '.lock'))).toBe(false)
  })
})
