import { describe, expect, it } from 'vitest'
import { usingPostgres } from '../helpers/context.ts'
import { failedStart, startFlags } from '../helpers/server.ts'

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
})
