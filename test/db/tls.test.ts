import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { commandFailure } from '../../src/db/command.ts'
import { DatabaseCertificateError } from '../../src/db/tls.ts'
import { customer } from '../helpers/context.ts'
import {
  type Cluster,
  canStartCluster,
  makeCertificates,
  startCluster,
} from '../helpers/pg-cluster.ts'

// A throwaway cluster with TLS on and a certificate from a CA of the test's own, for
// `localhost` only: a client that verifies must refuse it until it is given that CA, and
// then still refuse it under another name (127.0.0.1).
let cluster: Cluster
let caFile: string
const warnings: string[] = []
const onWarning = (w: Error) => warnings.push(w.message)

beforeAll(async () => {
  if (!canStartCluster) return
  process.on('warning', onWarning)
  cluster = await startCluster({
    tls: true,
    prepare: (dir) => {
      const certificates = makeCertificates(dir, ['DNS:localhost'])
      caFile = certificates.caFile
      return certificates
    },
    hba: 'hostssl all all 127.0.0.1/32 trust',
  })
}, 120_000)
afterAll(() => {
  process.off('warning', onWarning)
  cluster?.stop()
})

const start = (env: Record<string, string>) =>
  buildApp({
    config: loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_MAX: '0',
      // About certificates, not load: a busy test machine must not turn a request into a 503.
      MAX_EVENT_LOOP_DELAY_MS: '0',
      DATABASE_CONNECT_TIMEOUT_MS: '10000',
      ...env,
    }),
    salesFold: false,
    webhookDispatcher: false,
  })

const startFails = async (env: Record<string, string>) => {
  let app: App | undefined
  try {
    app = await start(env)
    await app.ready()
  } catch (err) {
    return err as Error
  } finally {
    await app?.close().catch(() => {})
  }
  throw new Error('the app started')
}

describe.skipIf(!canStartCluster)('TLS to PostgreSQL (a throwaway cluster with its own CA)', () => {
  it.each(['require', 'verify-ca', 'verify-full'])(
    'sslmode=%s without the CA: the start is refused, naming the certificate problem',
    async (mode) => {
      const err = await startFails({
        DATABASE_URL: `${cluster.url('postgres', 'localhost')}?sslmode=${mode}`,
      })
      expect(err).toBeInstanceOf(DatabaseCertificateError)
      expect(err.message).toMatch(/TLS certificate could not be verified/)
      expect(err.message).toMatch(/certificate/)
      expect(err.message).toMatch(/DATABASE_CA_FILE/)
    },
    60_000,
  )

  it('with DATABASE_CA_FILE the connection is accepted, over TLS, and an order is placed', async () => {
    const app = await start({
      DATABASE_URL: `${cluster.url('postgres', 'localhost')}?sslmode=verify-full`,
      DATABASE_CA_FILE: caFile,
    })
    try {
      await app.ready()
      const { rows } = await sql<{ ssl: boolean }>`
        select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(app.db)
      expect(rows).toEqual([{ ssl: true }])
      const res = await app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
      })
      expect(res.statusCode, res.body).toBe(201)
    } finally {
      await app.close()
    }
  }, 120_000)

  it('with the CA but another host name than the certificate names: refused', async () => {
    const err = await startFails({
      DATABASE_URL: `${cluster.url('postgres', '127.0.0.1')}?sslmode=require`,
      DATABASE_CA_FILE: caFile,
    })
    expect(err).toBeInstanceOf(DatabaseCertificateError)
    expect(err.message).toMatch(/not for the host in DATABASE_URL/)
    expect(err.message).toMatch(/127\.0\.0\.1/)
  }, 60_000)

  it('a MIGRATION_DATABASE_URL whose host the certificate does not name: refused, naming it', async () => {
    const env = {
      DATABASE_URL: `${cluster.url('postgres', 'localhost')}?sslmode=verify-full`,
      MIGRATION_DATABASE_URL: `${cluster.url('postgres', '127.0.0.1')}?sslmode=verify-full`,
      DATABASE_CA_FILE: caFile,
    }
    const err = await startFails(env)
    expect(err).toBeInstanceOf(DatabaseCertificateError)
    expect(err.message).toMatch(/not for the host in MIGRATION_DATABASE_URL: /)
    expect(err.message).not.toMatch(/\bDATABASE_URL/)
    // The line the start prints: the same sentence, once (not explained a second time).
    expect(commandFailure(err, loadConfig(env))).toBe(err.message)
  }, 60_000)

  it("pg's warning about sslmode semantics is never raised: the service decides them", () => {
    expect(warnings.filter((w) => /ssl ?mode/i.test(w))).toEqual([])
  })

  it('the server process stops with one line naming the problem, not a stack trace', () => {
    const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
    const run = spawnSync(node, ['src/server.ts'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        LOG_LEVEL: 'silent',
        DATABASE_URL: `${cluster.url('postgres', 'localhost')}?sslmode=verify-full`,
      },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(run.status).toBe(1)
    const lines = run.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^Could not start: The database server's TLS certificate could not be verified: .*DATABASE_CA_FILE/,
    )
  }, 60_000)
})
