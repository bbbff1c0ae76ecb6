import { randomUUID } from 'node:crypto'
import { type Kysely, type KyselyPlugin, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import type { Database } from '../../src/db/schema.ts'
import { walFlusher } from '../../src/db/wal-flush.ts'
import { orderBatcher } from '../../src/orders/order-batcher.ts'
import { placeOrder } from '../../src/orders/place-order.ts'
import { placeOrderBatch } from '../../src/orders/place-order-batch.ts'
import type { PlaceOrderResult } from '../../src/orders/placement.ts'
import type { OrderRequest } from '../../src/orders/schemas.ts'
import { buildTestApp, customer, stock, type TestApp, usingPostgres } from '../helpers/context.ts'

// ORDER_COMMIT_FLUSH=deferred: a batch commits without waiting for the WAL flush and is answered
// after a shared flush (src/db/wal-flush.ts). Each order stays all or nothing, stock is never
// oversold, however batches of several processes interleave, with it and without it.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ DATABASE_POOL_SIZE: '8' })
})
afterAll(() => t?.close())

const { set: setStock, of: stockOf } = stock(() => t.app.db)
const request = (items: OrderRequest['items']): OrderRequest => ({
  items,
  customer,
  idempotencyKey: randomUUID(),
})
const kinds = (results: (PlaceOrderResult | Error)[]) =>
  results.map((r) => (r instanceof Error ? r.message : r.kind))
const showSyncCommit = async (db: Kysely<Database>) =>
  (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(db)).rows[0]
    ?.synchronous_commit
const linesOf = async (sku: string) =>
  Number(
    (
      await sql<{ units: string }>`
        select coalesce(sum(l.quantity), 0) as units from order_lines l
        join products p on p.id = l.product_id where p.sku = ${sku}`.execute(t.app.db)
    ).rows[0]?.units,
  )

describe('deferFlush: the commit does not wait for its WAL flush', () => {
  for (const [name, place] of [
    [
      'a batch',
      (db: Kysely<Database>) =>
        placeOrderBatch(
          db,
          [request([{ sku: 'MUG-001', quantity: 1 }]), request([{ sku: 'CAP-003', quantity: 1 }])],
          { deferFlush: true },
        ),
    ],
    [
      'one order',
      (db: Kysely<Database>) =>
        placeOrder(db, request([{ sku: 'MUG-001', quantity: 1 }]), { deferFlush: true }),
    ],
  ] as const) {
    it(`${name}: synchronous_commit is off in its transaction, and only there`, async () => {
      await setStock('MUG-001', 100)
      await setStock('CAP-003', 100)
      // In a transaction of the test's, the setting is still visible after the statement.
      const inside = await t.app.db.transaction().execute(async (trx) => {
        await place(trx)
        return showSyncCommit(trx)
      })
      expect(inside).toBe('off')
      // As its own transaction on one connection: the next statement there is back to on.
      const after = await t.app.db.connection().execute(async (conn) => {
        await place(conn)
        return showSyncCommit(conn)
      })
      expect(after).toBe('on')
    })
  }

  it('leaves the commit as it was without deferFlush', async () => {
    await setStock('MUG-001', 100)
    const inside = await t.app.db.transaction().execute(async (trx) => {
      await placeOrderBatch(trx, [
        request([{ sku: 'MUG-001', quantity: 1 }]),
        request([{ sku: 'MUG-001', quantity: 1 }]),
      ])
      return showSyncCommit(trx)
    })
    expect(inside).toBe('on')
  })
})

describe('walFlusher: one flush for every caller waiting meanwhile', () => {
  /** The Kysely, and how many flushes it has sent so far. */
  const counted = () => {
    let flushes = 0
    const plugin: KyselyPlugin = {
      transformQuery: (args) => {
        flushes++
        return args.node
      },
      transformResult: async (args) => args.result,
    }
    return { db: t.app.db.withPlugin(plugin), count: () => flushes }
  }

  it('serves 20 callers at once with at most two flushes, and a later caller with a new one', async () => {
    const { db, count } = counted()
    const flushed = walFlusher(db)
    await Promise.all(Array.from({ length: 20 }, () => flushed()))
    expect(count()).toBeGreaterThanOrEqual(1)
    expect(count()).toBeLessThanOrEqual(2)
    const before = count()
    await flushed()
    expect(count()).toBe(before + 1)
  })

  it('makes a caller who comes while a flush runs wait for the next one, which starts after it', async () => {
    const { db, count } = counted()
    const flushed = walFlusher(db)
    const order: string[] = []
    const first = flushed().then(() => order.push(`first after ${count()}`))
    const second = flushed().then(() => order.push(`second after ${count()}`))
    await Promise.all([first, second])
    // The running flush may have started before the second caller's commit: not enough for it.
    expect(order).toEqual(['first after 1', 'second after 2'])
  })

  it('rejects every waiting caller when the flush fails, and flushes again afterwards', async () => {
    let fail = true
    const plugin: KyselyPlugin = {
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        if (fail) throw new Error('the database is gone')
        return args.result
      },
    }
    const flushed = walFlusher(t.app.db.withPlugin(plugin))
    const results = await Promise.allSettled([flushed(), flushed(), flushed()])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    fail = false
    await expect(flushed()).resolves.toBeUndefined()
  })
})

describe('the order batcher answers once the flush is done', () => {
  it('fails the orders of a batch whose flush fails, though their statement committed', async () => {
    await setStock('MUG-001', 100)
    const flushes = new WeakSet<object>()
    const plugin: KyselyPlugin = {
      transformQuery: (args) => {
        if (JSON.stringify(args.node).includes('pg_current_xact_id')) flushes.add(args.queryId)
        return args.node
      },
      transformResult: async (args) => {
        if (flushes.has(args.queryId)) throw new Error('the flush failed')
        return args.result
      },
    }
    const batcher = orderBatcher(t.app.db.withPlugin(plugin), { batchMax: 8, deferFlush: true })
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => batcher.place(request([{ sku: 'MUG-001', quantity: 1 }]))),
    )
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(await stockOf('MUG-001')).toBe(97) // written, but never answered placed
  })
})

describe('batches of two processes racing for scarce stock', () => {
  for (const deferFlush of [false, true])
    it(`sell exactly the stock, each order whole, through two batchers on two pools (deferFlush ${deferFlush})`, async () => {
      await setStock('KNF-008', 25)
      await setStock('PRS-012', 25)
      const linesBefore = { knf: await linesOf('KNF-008'), prs: await linesOf('PRS-012') }
      // A second pool on the same database, as a second worker has (PGlite: the same connection).
      const other = usingPostgres
        ? connect({ databaseUrl: t.config.DATABASE_URL, dataDir: '', poolSize: 4 })
        : t.app.db
      try {
        const batchers = [t.app.db, other].map((db) =>
          orderBatcher(db, { batchMax: 8, deferFlush }),
        )
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            (batchers[i % 2] as ReturnType<typeof orderBatcher>).place(
              request(
                i % 3 === 0
                  ? [
                      { sku: 'KNF-008', quantity: 1 },
                      { sku: 'PRS-012', quantity: 2 },
                    ]
                  : i % 3 === 1
                    ? [{ sku: 'KNF-008', quantity: 2 }]
                    : [
                        { sku: 'PRS-012', quantity: 1 },
                        { sku: 'KNF-008', quantity: 1 },
                      ],
              ),
            ),
          ),
        )
        expect(new Set(kinds(results))).toEqual(new Set(['placed', 'out-of-stock']))
        const units = (sku: string) =>
          results.reduce(
            (s, r) =>
              s +
              (r.kind === 'placed' ? (r.order.items.find((i) => i.sku === sku)?.quantity ?? 0) : 0),
            0,
          )
        // What was answered placed is what was taken and written, no more, no less.
        expect(await stockOf('KNF-008')).toBe(25 - units('KNF-008'))
        expect(await stockOf('PRS-012')).toBe(25 - units('PRS-012'))
        expect(await linesOf('KNF-008')).toBe(linesBefore.knf + units('KNF-008'))
        expect(await linesOf('PRS-012')).toBe(linesBefore.prs + units('PRS-012'))
        // Every order that could still be served was: the knives ran out.
        expect(await stockOf('KNF-008')).toBeLessThan(2)
      } finally {
        if (other !== t.app.db) await other.destroy()
      }
    })
})

// Two sessions at once: an in-memory PGlite has one.
describe.skipIf(!usingPostgres)(
  'a batch waiting for a product row another session holds (PostgreSQL)',
  () => {
    const waitingOnLock = async () =>
      Number(
        (
          await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`.execute(t.app.db)
        ).rows[0]?.n,
      )
    async function until(done: () => Promise<boolean>) {
      for (const end = Date.now() + 5000; Date.now() < end; ) {
        if (await done()) return
        await new Promise((r) => setTimeout(r, 20))
      }
      throw new Error('timed out')
    }

    for (const [left, expected, deferFlush] of [
      [3, ['placed', 'out-of-stock', 'out-of-stock'], false],
      [3, ['placed', 'out-of-stock', 'out-of-stock'], true],
      [1, ['out-of-stock', 'out-of-stock', 'out-of-stock'], true],
    ] as const) {
      it(`takes no more than is left when that session took stock meanwhile (${left} left, deferFlush ${deferFlush})`, async () => {
        await setStock('KNF-008', 5)
        const linesBefore = await linesOf('KNF-008')
        let batch: Promise<(PlaceOrderResult | Error)[]> | undefined
        await t.app.db.transaction().execute(async (other) => {
          await sql`select 1 from products where sku = 'KNF-008' for no key update`.execute(other)
          batch = placeOrderBatch(
            t.app.db,
            Array.from({ length: 3 }, () => request([{ sku: 'KNF-008', quantity: 2 }])),
            { deferFlush },
          )
          await until(async () => (await waitingOnLock()) > 0)
          await sql`update products set stock = ${left} where sku = 'KNF-008'`.execute(other)
        })
        expect(kinds((await batch) ?? [])).toEqual(expected)
        const placed = expected.filter((k) => k === 'placed').length
        expect(await stockOf('KNF-008')).toBe(left - 2 * placed)
        expect(await linesOf('KNF-008')).toBe(linesBefore + 2 * placed)
      })
    }
  },
)
