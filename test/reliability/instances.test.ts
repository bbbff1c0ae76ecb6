import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { App } from '../../src/app.ts'
import { appsOnOneDatabase, usingPostgres } from '../helpers/context.ts'
import { apiOrder, brokenInvariants, formOrder, soak, timeLimit } from '../helpers/reliability.ts'

// Soak runs (SOAK=1, RELIABILITY_RUNS) take longer than the default 30 s.
vi.setConfig({ testTimeout: timeLimit })

const apiKeys = soak ? 2000 : 200
const formKeys = soak ? 500 : 50
const conflictKeys = soak ? 200 : 30

// Two instances need one shared database: an in-memory PGlite cannot be shared.
describe.skipIf(!usingPostgres)(
  'two instances on one database under duplicate submissions (PostgreSQL only)',
  () => {
    let apps: App[]
    let close: () => Promise<void>
    beforeAll(async () => {
      ;({ apps, close } = await appsOnOneDatabase(2, {
        RATE_LIMIT_MAX: '0',
        FOLD_INTERVAL_MS: '20',
      }))
    })
    afterAll(() => close?.())

    const countOrders = async (prefix: string) =>
      Number(
        (
          await sql<{
            n: string
          }>`select count(*) as n from orders where idempotency_key like ${`${prefix}%`}`.execute(
            (apps[0] as App).db,
          )
        ).rows[0]?.n,
      )

    it(`creates each order once when every API request is sent twice to each instance at once (${apiKeys} keys)`, async () => {
      const [a, b] = apps as [App, App]
      const keys = Array.from({ length: apiKeys }, () => randomUUID())
      const byKey = new Map<string, { status: number; orderNumber: string }[]>()
      // Waves of 25 keys, four copies each: 100 requests in flight across the two instances.
      for (let wave = 0; wave < keys.length; wave += 25) {
        const results = await Promise.all(
          keys.slice(wave, wave + 25).flatMap((key, j) =>
            [a, b, a, b].map(async (app) => {
              const res = await app.inject({
                method: 'POST',
                url: '/api/orders',
                headers: { 'idempotency-key': key },
                payload: apiOrder(wave + j),
              })
              return { key, status: res.statusCode, orderNumber: res.json().orderNumber as string }
            }),
          ),
        )
        for (const r of results) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r])
      }
      for (const [key, answers] of byKey) {
        expect(answers.map((r) => r.status).sort(), key).toEqual([200, 200, 200, 201])
        expect(new Set(answers.map((r) => r.orderNumber)).size, key).toBe(1)
      }
      expect(await countOrders('api:')).toBe(apiKeys)
    })

    it(`redirects every copy of a form posted twice to each instance to one order (${formKeys} forms)`, async () => {
      const [a, b] = apps as [App, App]
      const before = await countOrders('form:')
      const locations: Set<unknown>[] = []
      // Waves of 25 forms, four copies each, as for the API: 100 requests in flight.
      for (let wave = 0; wave < formKeys; wave += 25) {
        const size = Math.min(25, formKeys - wave)
        const results = await Promise.all(
          Array.from({ length: size }, async (_, j) => {
            const payload = formOrder(wave + j, randomUUID())
            const answers = await Promise.all(
              [a, b, a, b].map((app) =>
                app.inject({
                  method: 'POST',
                  url: '/orders',
                  headers: { 'content-type': 'application/x-www-form-urlencoded' },
                  payload,
                }),
              ),
            )
            expect(answers.map((r) => r.statusCode)).toEqual([303, 303, 303, 303])
            return new Set(answers.map((r) => r.headers.location))
          }),
        )
        locations.push(...results)
      }
      for (const l of locations) expect(l.size).toBe(1)
      expect(await countOrders('form:')).toBe(before + formKeys)
    })

    it(`lets one of two different bodies under one key through, and refuses the other with 422 (${conflictKeys} keys)`, async () => {
      const [a, b] = apps as [App, App]
      const before = await countOrders('api:')
      for (let i = 0; i < conflictKeys; i++) {
        const key = randomUUID()
        const [x, y] = await Promise.all(
          [
            [a, apiOrder(i)],
            [b, apiOrder(i + 1)],
          ].map(([app, payload]) =>
            (app as App).inject({
              method: 'POST',
              url: '/api/orders',
              headers: { 'idempotency-key': key },
              payload: payload as object,
            }),
          ),
        )
        expect([x?.statusCode, y?.statusCode].sort()).toEqual([201, 422])
      }
      expect(await countOrders('api:')).toBe(before + conflictKeys)
    })

    it('holds every invariant afterwards: stock taken once per order, totals, aggregates', async () => {
      const db = (apps[0] as App).db
      const stock = await sql<{ left: string }>`select sum(stock) as left from products`.execute(db)
      expect(Number(stock.rows[0]?.left)).toBeGreaterThan(0)
      expect(await brokenInvariants(db)).toEqual([])
    })
  },
)
