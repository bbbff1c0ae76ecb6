import { randomBytes, randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { connect } from '../../src/db/connect.ts'
import { azureCredential, entraPassword, postgresTokenScope } from '../../src/db/entra.ts'
import type { Database } from '../../src/db/schema.ts'
import { customer } from '../helpers/context.ts'
import {
  type Cluster,
  canStartCluster,
  makeCertificates,
  startCluster,
} from '../helpers/pg-cluster.ts'

// A local stand-in for App Service's managed identity endpoint (what IDENTITY_ENDPOINT and
// IDENTITY_HEADER point @azure/identity at), handing out the token the test chooses, and a
// throwaway cluster (TLS, passwords checked) whose app role's password is that token: as
// Azure Database for PostgreSQL takes an Entra ID token as the password.
const secret = randomBytes(16).toString('hex')
const appRole = 'orders_identity'
const stub = {
  token: 'tok-1',
  lifetimeS: 3600,
  calls: 0,
  refused: [] as string[],
}
let server: http.Server
let cluster: Cluster
let caFile: string
const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER }

beforeAll(async () => {
  if (!canStartCluster) return
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub')
    if (
      url.pathname !== '/msi/token' ||
      req.headers['x-identity-header'] !== secret ||
      url.searchParams.get('resource') !== postgresTokenScope.replace('/.default', '')
    ) {
      stub.refused.push(`${req.url} ${JSON.stringify(req.headers)}`)
      res.writeHead(400).end()
      return
    }
    stub.calls++
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        access_token: stub.token,
        expires_on: String(Math.floor(Date.now() / 1000) + stub.lifetimeS),
        resource: url.searchParams.get('resource'),
        token_type: 'Bearer',
        client_id: '00000000-0000-0000-0000-000000000001',
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  process.env.IDENTITY_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`
  process.env.IDENTITY_HEADER = secret
  cluster = await startCluster({
    tls: true,
    prepare: (dir) => {
      const certificates = makeCertificates(dir, ['DNS:localhost'])
      caFile = certificates.caFile
      return certificates
    },
    hba: [
      'hostssl all postgres 127.0.0.1/32 trust',
      'hostssl all all 127.0.0.1/32 scram-sha-256',
    ].join('\n'),
  })
  cluster.psql(`create role ${appRole} login password '${stub.token}'`)
}, 120_000)

afterAll(async () => {
  process.env.IDENTITY_ENDPOINT = saved.endpoint
  process.env.IDENTITY_HEADER = saved.header
  if (saved.endpoint === undefined) delete process.env.IDENTITY_ENDPOINT
  if (saved.header === undefined) delete process.env.IDENTITY_HEADER
  await new Promise((resolve) => server?.close(resolve))
  cluster?.stop()
})

const appUrl = () => `${cluster.url(appRole, 'localhost')}?sslmode=verify-full`
const ownerUrl = () => `${cluster.url('postgres', 'localhost')}?sslmode=verify-full`

/** `n` connections at once (each holds its query a moment); the roles they signed in as. */
const signIns = async (db: Kysely<Database>, n: number) =>
  Promise.all(
    Array.from({ length: n }, () =>
      sql<{ who: string }>`select current_user as who, pg_sleep(0.2)`
        .execute(db)
        .then((r) => r.rows[0]?.who),
    ),
  )

describe.skipIf(!canStartCluster)('Entra ID sign-in (a local managed identity endpoint)', () => {
  let db: Kysely<Database>
  afterAll(() => db?.destroy())

  it('connects with the token as the password; one token serves every connection while it is fresh', async () => {
    // A token that is "near expiry" (5 minutes or less left) 15 seconds from now.
    stub.token = 'tok-1'
    stub.lifetimeS = 300 + 15
    db = connect({
      databaseUrl: appUrl(),
      dataDir: 'unused',
      poolSize: 4,
      caFile,
      password: entraPassword(azureCredential),
    })
    expect(await signIns(db, 4)).toEqual([appRole, appRole, appRole, appRole])
    expect(stub.refused).toEqual([])
    expect(stub.calls).toBe(1)
  }, 60_000)

  it('a new connection near the token expiry gets a new token (the old one no longer signs in)', async () => {
    stub.token = 'tok-2'
    stub.lifetimeS = 3600
    cluster.psql(`alter role ${appRole} password 'tok-2'`)
    // Past the 5-minute margin of tok-1: for this cache and for @azure/identity's own.
    await new Promise((r) => setTimeout(r, 16_000))
    // Close the open connections, so the next queries sign in anew.
    cluster.psql(
      `select pg_terminate_backend(pid) from pg_stat_activity where usename = '${appRole}'`,
    )
    // The pool finds its connections closed by failing a query on each: poll until one signs in.
    await expect
      .poll(async () => (await signIns(db, 1).catch(() => []))[0], { timeout: 20_000 })
      .toBe(appRole)
    expect(stub.calls).toBe(2)
    // tok-2 is good for an hour: more sign-ins, no more calls.
    cluster.psql(
      `select pg_terminate_backend(pid) from pg_stat_activity where usename = '${appRole}'`,
    )
    await expect
      .poll(async () => (await signIns(db, 3).catch(() => []))[0], { timeout: 20_000 })
      .toBe(appRole)
    expect(stub.calls).toBe(2)
  }, 90_000)

  it('the service with DATABASE_AUTH=entra migrates as the owner and serves as the identity', async () => {
    const app = await buildApp({
      config: loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        RATE_LIMIT_MAX: '0',
        MAX_EVENT_LOOP_DELAY_MS: '0',
        DATABASE_CONNECT_TIMEOUT_MS: '10000',
        DATABASE_AUTH: 'entra',
        DATABASE_URL: appUrl(),
        MIGRATION_DATABASE_URL: ownerUrl(),
        DATABASE_CA_FILE: caFile,
      }),
      salesFold: false,
      webhookDispatcher: false,
    })
    try {
      await app.ready()
      const placed = await app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
      })
      expect(placed.statusCode, placed.body).toBe(201)
      expect(await signIns(app.db, 1)).toEqual([appRole])
      expect(stub.refused).toEqual([])
    } finally {
      await app.close()
    }
  }, 120_000)
})

describe('Entra ID settings', () => {
  const url = 'postgres://orders_identity@db.example.com/orders'
  it.each([
    [{ DATABASE_AUTH: 'entra' }, /needs DATABASE_URL/],
    [{ DATABASE_AUTH: 'entra', DATABASE_URL: `${url}?sslmode=disable` }, /needs TLS/],
    [{ DATABASE_AUTH: 'entra', DATABASE_URL: url }, /needs TLS/],
    [
      {
        DATABASE_AUTH: 'entra',
        DATABASE_URL: 'postgres://id:pw@db.example.com/orders?sslmode=verify-full',
      },
      /must hold no password/,
    ],
    [
      {
        DATABASE_AUTH: 'entra',
        DATABASE_URL: 'postgres://db.example.com/orders?sslmode=verify-full',
      },
      /needs the role/,
    ],
    [{ DATABASE_AUTH: 'token' }, /DATABASE_AUTH/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message)
  })

  it('a password start never loads @azure/identity: only entra.ts imports it, and lazily', () => {
    const src = fileURLToPath(new URL('../../src', import.meta.url))
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    )
    const importers = files.filter((f) =>
      /from '@azure\/identity'|import\('@azure\/identity'\)/.test(
        readFileSync(path.join(src, f), 'utf8'),
      ),
    )
    expect(importers).toEqual([path.join('db', 'entra.ts')])
    const entra = readFileSync(path.join(src, 'db', 'entra.ts'), 'utf8')
    expect(entra).not.toMatch(/^import .*'@azure\/identity'/m)
  })

  it('refreshes once for connections asking together, and keeps a valid token when a refresh fails', async () => {
    let clock = 0
    let calls = 0
    let fail = false
    const password = entraPassword(
      {
        getToken: async () => {
          calls++
          await new Promise((r) => setTimeout(r, 10))
          if (fail) throw new Error('endpoint down')
          return { token: `t${calls}`, expiresOnTimestamp: clock + 10 * 60_000 }
        },
      },
      () => clock,
    )
    expect(await Promise.all([password(), password(), password()])).toEqual(['t1', 't1', 't1'])
    clock += 4 * 60_000
    expect(await password()).toBe('t1')
    clock += 2 * 60_000 // 4 minutes left: within the margin
    fail = true
    expect(await password()).toBe('t1')
    clock += 5 * 60_000 // expired
    await expect(password()).rejects.toThrow('endpoint down')
    fail = false
    expect(await password()).toBe('t4')
    expect(calls).toBe(4)
  })
})
