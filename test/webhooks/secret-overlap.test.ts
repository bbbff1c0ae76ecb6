import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest, migrator } from '../../src/db/migrate.ts'
import { rotateSecret } from '../../src/webhooks/secret-rotation.ts'
import { newSigningSecret } from '../../src/webhooks/secrets.ts'
import { buildTestApp, type TestApp, testDatabase } from '../helpers/context.ts'
import { waitFor } from '../helpers/insights.ts'
import { addStaff, addToken } from '../helpers/staff.ts'
import {
  insertEndpoint,
  insertEvents,
  type Receiver,
  startReceiver,
} from '../helpers/webhook-receiver.ts'

/**
 * Rotating a signing secret with an overlap window (src/webhooks/secret-rotation.ts), end to end:
 * the API, the dispatcher, and a real receiver on 127.0.0.1 that verifies every request with the
 * Standard Webhooks library (`standardwebhooks`, what receivers use) and the one secret it has
 * installed, answering 401 when that fails, as a receiver that has not switched yet would. The
 * window's end is moved by writing the column (the database's clock decides, as the claim does).
 */
let t: TestApp
let receiver: Receiver
let admin: Record<string, string>
let clerk: Record<string, string>
/** The secret the receiver verifies with. */
let installed = ''
let n = 0

type Request = Receiver['received'][number]

/** Whether `signature` (the header, or one of its entries) verifies with `secret`. */
function verifies(secret: string, r: Request, signature = r.signature): boolean {
  try {
    new Webhook(secret).verify(r.body, {
      'webhook-id': r.id,
      'webhook-timestamp': r.timestamp,
      'webhook-signature': signature,
    })
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  t = await buildTestApp(
    { WEBHOOKS_ALLOW_LOCAL: 'true', WEBHOOKS_POLL_MS: '20' },
    { webhookDispatcher: { retry: { baseMs: 100, capMs: 200 }, timeoutMs: 1000, leaseMs: 3000 } },
  )
  receiver = await startReceiver((r) => (verifies(installed, r) ? 200 : 401))
  admin = {
    authorization: `Bearer ${await addToken(t.app, await addStaff(t.app, 'boss@example.com', 'admin'))}`,
  }
  clerk = {
    authorization: `Bearer ${await addToken(t.app, await addStaff(t.app, 'clerk@example.com', 'staff'))}`,
  }
})
afterAll(async () => {
  await receiver?.close()
  await t?.close()
})

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, headers = admin) =>
  t.app.inject({ method, url, payload, headers })

let endpoint: { id: number; secret: string; path: string }

// Each test its own endpoint (its own path at the receiver), deleted after it with its deliveries.
beforeEach(async () => {
  n += 1
  const url = `${receiver.url}?test=${n}`
  const created = await call('POST', '/api/admin/webhooks', {
    url,
    eventTypes: ['product.out_of_stock'],
  })
  expect(created.statusCode, created.body).toBe(201)
  endpoint = { ...created.json(), path: new URL(url).pathname + new URL(url).search }
  installed = endpoint.secret
  return async () => {
    expect((await call('DELETE', `/api/admin/webhooks/${endpoint.id}`)).statusCode).toBe(204)
  }
})

const rotate = async () => {
  const res = await call('POST', `/api/admin/webhooks/${endpoint.id}/rotate-secret`)
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as { secret: string; previousSecretUntil: string | null; updatedAt: string }
}

const requestsOfThisTest = () => receiver.received.filter((r) => r.path === endpoint.path)

/** Writes one event, waits for its first request to this test's endpoint, answers it. */
async function nextDelivery(): Promise<Request> {
  const before = requestsOfThisTest().length
  await insertEvents(t.app.db, [
    { type: 'product.out_of_stock', orderId: null, data: { sku: `SKU-${n}`, name: 'Mug' } },
  ])
  await waitFor(async () => requestsOfThisTest().length > before)
  return requestsOfThisTest()[before] as Request
}

/** The endpoint's latest delivery, once it is delivered (answers its attempts). */
async function deliveredAttempts(): Promise<number> {
  let attempts = 0
  await waitFor(async () => {
    const [d] = (await call('GET', `/api/admin/webhooks/${endpoint.id}/deliveries`)).json()
    attempts = d?.attempts
    return d?.status === 'delivered'
  })
  return attempts
}

const storedPrevious = async () =>
  (
    await t.app.db
      .selectFrom('webhook_endpoints')
      .select(['previous_secret', 'previous_secret_until'])
      .where('id', '=', endpoint.id)
      .executeTakeFirstOrThrow()
  ).previous_secret

describe('a rotation keeps the previous secret signing for the overlap window', () => {
  it('signs each delivery with both, the new first, so a receiver with either accepts it', async () => {
    const old = endpoint.secret
    const before = Date.now()
    const rotated = await rotate()
    const dayMs = 24 * 3600_000 // WEBHOOKS_SECRET_OVERLAP_HOURS' default
    const until = Date.parse(rotated.previousSecretUntil ?? '')
    expect(until).toBeGreaterThanOrEqual(before + dayMs - 2000)
    expect(until).toBeLessThanOrEqual(Date.now() + dayMs + 2000)

    // Said by the GET and the list, never the previous secret itself.
    const one = await call('GET', `/api/admin/webhooks/${endpoint.id}`)
    expect(one.json().previousSecretUntil).toBe(rotated.previousSecretUntil)
    expect(one.body).not.toContain('whsec_')
    const list = await call('GET', '/api/admin/webhooks')
    expect(list.body).not.toContain('whsec_')
    expect(rotated).not.toHaveProperty('previousSecret')
    expect(JSON.stringify(rotated)).not.toContain(old)
    expect(await storedPrevious()).toBe(old)

    // The receiver still has the old secret: accepted at the first attempt.
    const r = await nextDelivery()
    const [first, second, ...more] = r.signature.split(' ')
    expect(more).toEqual([])
    expect(verifies(rotated.secret, r, first)).toBe(true)
    expect(verifies(old, r, first)).toBe(false)
    expect(verifies(old, r, second)).toBe(true)
    expect(verifies(rotated.secret, r, second)).toBe(false)
    expect(verifies(old, r) && verifies(rotated.secret, r)).toBe(true)
    expect(r.answered).toBe(200)
    expect(await deliveredAttempts()).toBe(1)

    // The receiver switched: still accepted at once.
    installed = rotated.secret
    expect((await nextDelivery()).answered).toBe(200)
  })

  it('signs with the new secret alone after the window; a receiver still on the old one refuses', async () => {
    const old = endpoint.secret
    const rotated = await rotate()
    await sql`update webhook_endpoints set previous_secret_until = now() - interval '1 second'
              where id = ${endpoint.id}`.execute(t.app.db)
    expect((await call('GET', `/api/admin/webhooks/${endpoint.id}`)).json()).toMatchObject({
      previousSecretUntil: null,
    })

    const r = await nextDelivery()
    expect(r.signature.split(' ')).toHaveLength(1)
    expect(verifies(rotated.secret, r)).toBe(true)
    expect(verifies(old, r)).toBe(false)
    expect(r.answered).toBe(401) // the receiver never installed the new secret
    // It installs it now: the retry, signed anew with the new secret, is accepted.
    installed = rotated.secret
    expect(await deliveredAttempts()).toBe(2)
    const retry = requestsOfThisTest().at(-1) as Request
    expect(retry.id).toBe(r.id)
    expect(verifies(old, retry)).toBe(false)
  })

  it('with WEBHOOKS_SECRET_OVERLAP_HOURS=0 replaces the secret outright', async () => {
    const old = endpoint.secret
    const rotated = await rotateSecret(t.app.db, endpoint.id, newSigningSecret(), 0)
    expect(rotated?.previousSecretUntil).toBeNull()
    expect(await storedPrevious()).toBeNull()
    installed = rotated?.secret ?? ''
    const r = await nextDelivery()
    expect(r.signature.split(' ')).toHaveLength(1)
    expect(verifies(old, r)).toBe(false)
    expect(r.answered).toBe(200)
  })
})

describe('a second rotation within the window', () => {
  it('replaces the previous secret: the first one stops signing at once', async () => {
    const first = endpoint.secret
    const second = await rotate()
    const third = await rotate()
    expect(Date.parse(third.previousSecretUntil ?? '')).toBeGreaterThanOrEqual(
      Date.parse(second.previousSecretUntil ?? ''),
    )
    expect(await storedPrevious()).toBe(second.secret)

    installed = first // a receiver two rotations behind
    const r = await nextDelivery()
    const [newest, previous, ...more] = r.signature.split(' ')
    expect(more).toEqual([])
    expect(verifies(third.secret, r, newest)).toBe(true)
    expect(verifies(second.secret, r, previous)).toBe(true)
    expect(verifies(first, r)).toBe(false)
    expect(r.answered).toBe(401)
    installed = second.secret
    expect(await deliveredAttempts()).toBe(2)
  })
})

describe('ending the overlap', () => {
  it('stops signing with the previous secret at once; admins only; idempotent', async () => {
    const old = endpoint.secret
    const rotated = await rotate()
    const url = `/api/admin/webhooks/${endpoint.id}/end-secret-overlap`

    const refused = await call('POST', url, undefined, clerk)
    expect(refused.statusCode).toBe(403)
    expect((await call('POST', url, undefined, {})).statusCode).toBe(401)
    expect(await storedPrevious()).toBe(old)

    const ended = await call('POST', url)
    expect(ended.statusCode, ended.body).toBe(200)
    expect(ended.json()).toMatchObject({ id: endpoint.id, previousSecretUntil: null })
    expect(ended.body).not.toContain('whsec_')
    expect(Date.parse(ended.json().updatedAt)).toBeGreaterThanOrEqual(Date.parse(rotated.updatedAt))
    expect(await storedPrevious()).toBeNull()
    expect((await call('GET', `/api/admin/webhooks/${endpoint.id}`)).json()).toMatchObject({
      previousSecretUntil: null,
    })

    installed = old // the leaked secret: refused from now on
    const r = await nextDelivery()
    expect(r.signature.split(' ')).toHaveLength(1)
    expect(verifies(rotated.secret, r)).toBe(true)
    expect(verifies(old, r)).toBe(false)
    expect(r.answered).toBe(401)
    installed = rotated.secret
    await deliveredAttempts()

    // Again: nothing to end, nothing changes (updatedAt included).
    const again = await call('POST', url)
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual(ended.json())

    const missing = await call('POST', '/api/admin/webhooks/999999/end-secret-overlap')
    expect(missing.statusCode).toBe(404)
    expect(missing.json().message).toBe('There is no webhook endpoint 999999.')
  })
})

describe('migration 0018', () => {
  it('adds the previous secret and its end, both or neither, and takes them away again', async () => {
    const database = await testDatabase()
    const db = connect({
      databaseUrl: database.env.DATABASE_URL,
      dataDir: database.env.DATA_DIR ?? 'memory://',
      poolSize: 1,
    })
    const columns = async () =>
      (
        await sql<{ column_name: string }>`
          select column_name from information_schema.columns
          where table_name = 'webhook_endpoints' and column_name like 'previous%'
          order by column_name`.execute(db)
      ).rows.map((r) => r.column_name)
    try {
      await migrateToLatest(db)
      expect(await columns()).toEqual(['previous_secret', 'previous_secret_until'])
      const { id, secret } = await insertEndpoint(db, 'https://93.184.215.14/m')
      await expect(
        sql`update webhook_endpoints set previous_secret = ${secret} where id = ${id}`.execute(db),
      ).rejects.toThrow(/webhook_endpoints_previous_secret_whole/)
      await rotateSecret(db, id, newSigningSecret(), 24)

      const down = await (await migrator(db)).migrateTo('0017_order_email_cancellation')
      expect(down.error).toBeUndefined()
      // Later migrations go down first; 0018 last.
      expect(down.results?.map((r) => [r.migrationName, r.direction]).at(-1)).toEqual([
        '0018_webhook_previous_secret',
        'Down',
      ])
      expect(await columns()).toEqual([])
      await migrateToLatest(db)
      const row = await db
        .selectFrom('webhook_endpoints')
        .select(['previous_secret', 'previous_secret_until'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      expect(row).toEqual({ previous_secret: null, previous_secret_until: null })
    } finally {
      await db.destroy()
      await database.drop()
    }
  })
})
