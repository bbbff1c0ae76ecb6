import { spawn, spawnSync } from 'node:child_process'
import net from 'node:net'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { usingPostgres } from '../helpers/context.ts'
import { failedStart, freePort, startFlags } from '../helpers/server.ts'

// Here, not in test/config.test.ts: that file runs once, on PGlite only (vitest.config.ts).
describe.runIf(usingPostgres)('npm start on PostgreSQL when it cannot start', () => {
  it('a database that does not exist: one sentence with the createdb line, no class name', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL as string)
    url.pathname = '/start_not_created'
    const run = await failedStart({ DATABASE_URL: url.toString(), PORT: '0' }, startFlags())
    expect(run.code, run.output).toBe(1)
    const options = `-h ${url.hostname}${url.port ? ` -p ${url.port}` : ''} -U ${url.username}`
    expect(run.lines).toEqual([
      `Could not start: The database start_not_created does not exist on the PostgreSQL server: create it first (createdb ${options} start_not_created), then run this again.`,
    ])
  }, 120_000)

  it('a URL without a user, and no PGUSER or USER: says to write the user into the URL', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL as string)
    url.username = ''
    url.password = ''
    // The server's environment holds neither (startServer passes PATH and the service's own).
    const run = await failedStart({ DATABASE_URL: url.toString(), PORT: '0' }, startFlags())
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      'Could not start: DATABASE_URL names no user, and neither PGUSER nor USER is set: write the user into the URL (postgres://user@host:5432/orders), then run this again.',
    ])
  }, 120_000)

  it('MIGRATION_DATABASE_URL without a user, DATABASE_URL with one: names MIGRATION_DATABASE_URL only', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL as string)
    url.username = ''
    url.password = ''
    const run = await failedStart(
      {
        DATABASE_URL: process.env.TEST_DATABASE_URL as string,
        MIGRATION_DATABASE_URL: url.toString(),
        PORT: '0',
      },
      startFlags(),
    )
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      'Could not start: MIGRATION_DATABASE_URL names no user, and neither PGUSER nor USER is set: write the user into the URL (postgres://user@host:5432/orders), then run this again.',
    ])
  }, 120_000)

  it.each([
    [
      'a user the server does not have',
      (url: URL) => {
        url.username = 'start_no_such_role'
      },
      'has no role "start_no_such_role", the user in DATABASE_URL: create it (createuser), or correct DATABASE_URL.',
    ],
    [
      'sslmode=require of a server without TLS',
      (url: URL) => {
        url.searchParams.set('sslmode', 'require')
      },
      'does not accept TLS, which DATABASE_URL asks for (its sslmode): turn ssl on at the server, or, for a server on this machine only, drop sslmode from DATABASE_URL.',
    ],
  ])(
    '%s: names the server and the setting to correct',
    async (_, change, sentence) => {
      const url = new URL(process.env.TEST_DATABASE_URL as string)
      change(url)
      const run = await failedStart({ DATABASE_URL: url.toString(), PORT: '0' }, startFlags())
      expect(run.code, run.output).toBe(1)
      expect(run.lines).toEqual([
        `Could not start: The PostgreSQL server at ${url.hostname}:${url.port || '5432'} ${sentence}`,
      ])
    },
    120_000,
  )

  it('MIGRATION_DATABASE_URL naming another database than DATABASE_URL: says so, naming both', async () => {
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
    await admin.connect()
    await admin.query('drop database if exists start_other_db')
    await admin.query('create database start_other_db')
    try {
      const other = new URL(process.env.TEST_DATABASE_URL as string)
      other.pathname = '/start_other_db'
      const migration = new URL(process.env.TEST_DATABASE_URL as string)
      const run = await failedStart(
        { DATABASE_URL: other.toString(), MIGRATION_DATABASE_URL: migration.toString(), PORT: '0' },
        startFlags(),
      )
      expect(run.code, run.output).toBe(1)
      const at = `${other.hostname}:${other.port || '5432'}`
      const sentence = `DATABASE_URL's database has no \\w+ table, which the migrations through MIGRATION_DATABASE_URL make: the two must name the same database on the same server \\(${at}/start_other_db and ${at}${migration.pathname} now\\): correct the one that is wrong\\.`
      expect(run.lines).toEqual([
        expect.stringMatching(new RegExp(`^Could not start: ${sentence}$`)),
      ])
      // npm run migrate too (it said "Already up to date.", exit 0).
      const migrate = spawnSync(process.execPath, ['src/db/migrate-cli.ts'], {
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: other.toString(),
          MIGRATION_DATABASE_URL: migration.toString(),
        },
        encoding: 'utf8',
        timeout: 60_000,
      })
      expect(migrate.status, migrate.stderr).toBe(1)
      expect(migrate.stderr).toMatch(new RegExp(`^Migration failed: ${sentence}\\n$`))
    } finally {
      await admin.query('drop database if exists start_other_db with (force)')
      await admin.end()
    }
  }, 120_000)

  it("MIGRATION_DATABASE_URL refused, DATABASE_URL fine: names MIGRATION_DATABASE_URL's address", async () => {
    const port = await freePort()
    const refused = new URL(process.env.TEST_DATABASE_URL as string)
    refused.host = `127.0.0.1:${port}`
    const run = await failedStart(
      {
        DATABASE_URL: process.env.TEST_DATABASE_URL as string,
        MIGRATION_DATABASE_URL: refused.toString(),
        PORT: '0',
      },
      startFlags(),
    )
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      `Could not start: No PostgreSQL server answers at 127.0.0.1:${port}: start it, or correct MIGRATION_DATABASE_URL.`,
    ])
  }, 120_000)
})

// Needs no database: a plain TCP server that takes the connection and never says a word.
describe('npm start and npm run migrate, a server that never answers', () => {
  async function silentServer() {
    const sockets: net.Socket[] = []
    const server = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as net.AddressInfo
    const close = async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
    return { url: `postgres://owner:secret@127.0.0.1:${port}/orders`, port, close }
  }

  it('npm start with such a MIGRATION_DATABASE_URL: one sentence naming it, within the timeout', async () => {
    const silent = await silentServer()
    try {
      const started = performance.now()
      const run = await failedStart(
        {
          DATABASE_URL: silent.url,
          MIGRATION_DATABASE_URL: silent.url,
          DATABASE_CONNECT_TIMEOUT_MS: '500',
          PORT: '0',
        },
        startFlags(),
      )
      expect(run.code, run.output).toBe(1)
      expect(run.lines).toEqual([
        `Could not start: The PostgreSQL server at 127.0.0.1:${silent.port} did not answer within 500 ms (DATABASE_CONNECT_TIMEOUT_MS): check that it is up and reachable, or correct MIGRATION_DATABASE_URL.`,
      ])
      expect(performance.now() - started).toBeLessThan(30_000)
    } finally {
      await silent.close()
    }
  }, 60_000)

  it('npm run migrate with such a MIGRATION_DATABASE_URL: one sentence naming it, no hang', async () => {
    const silent = await silentServer()
    try {
      const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['src/db/migrate-cli.ts'], {
          env: {
            PATH: process.env.PATH ?? '',
            DATABASE_URL: silent.url,
            MIGRATION_DATABASE_URL: silent.url,
            DATABASE_CONNECT_TIMEOUT_MS: '500',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: 20_000,
        })
        let stderr = ''
        child.stderr.on('data', (d) => {
          stderr += d
        })
        child.on('close', (code) => resolve({ code, stderr }))
      })
      expect(run).toEqual({
        code: 1,
        stderr: `Migration failed: The PostgreSQL server at 127.0.0.1:${silent.port} did not answer within 500 ms (DATABASE_CONNECT_TIMEOUT_MS): check that it is up and reachable, or correct MIGRATION_DATABASE_URL.\n`,
      })
    } finally {
      await silent.close()
    }
  }, 60_000)
})

// Needs no database: a name no DNS resolves (RFC 2606's .invalid), a server that closes at once.
describe('npm start, a database host not found or closing the connection', () => {
  it('a host name that does not resolve: one sentence naming the setting and the host', async () => {
    const run = await failedStart(
      { DATABASE_URL: 'postgres://owner:secret@db.invalid:5432/orders', PORT: '0' },
      startFlags(),
    )
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toHaveLength(1)
    // ENOTFOUND from a DNS that answers; EAI_AGAIN where none does (a sandbox).
    expect(run.lines[0]).toMatch(
      /^Could not start: The host db\.invalid in DATABASE_URL (was not found \(DNS: ENOTFOUND\): correct the host in DATABASE_URL\.|could not be looked up)/,
    )
    expect(run.output).not.toContain('secret')
    // `?host=` overrides the URL's host: the name looked up is the one told.
    const overridden = await failedStart(
      { DATABASE_URL: 'postgres://owner@127.0.0.1:5432/orders?host=db.invalid', PORT: '0' },
      startFlags(),
    )
    expect(overridden.lines[0]).toMatch(/^Could not start: The host db\.invalid in DATABASE_URL /)
  }, 120_000)

  it('a socket folder with no server in it: names the socket and the setting', async () => {
    const run = await failedStart(
      { DATABASE_URL: 'postgres://owner@localhost/orders?host=/nonexistent', PORT: '0' },
      startFlags(),
    )
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      'Could not start: No PostgreSQL server listens on the socket /nonexistent/.s.PGSQL.5432 (ENOENT): start it, or correct the socket folder (host) in DATABASE_URL.',
    ])
  }, 120_000)

  it('a server that closes the connection at once: names the address and the setting', async () => {
    const server = net.createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as net.AddressInfo
    try {
      const run = await failedStart(
        { DATABASE_URL: `postgres://owner:secret@127.0.0.1:${port}/orders`, PORT: '0' },
        startFlags(),
      )
      expect(run.code, run.output).toBe(1)
      expect(run.lines).toEqual([
        `Could not start: Whatever answers at 127.0.0.1:${port} closed the connection without a word of PostgreSQL's: check that the host and port in DATABASE_URL are a PostgreSQL server's, and that no proxy or firewall between ends the connection.`,
      ])
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  }, 120_000)
})
