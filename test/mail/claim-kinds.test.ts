import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimDueEmails } from '../../src/mail/queue.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'
import { insertEvents } from '../helpers/webhook-receiver.ts'

// Releases overlap (the staging slot, a rollback): a sender must leave a kind its release cannot
// render to the release that queued it, not send it as another kind. The claim, run by hand on
// an app whose dispatcher and sender are off, with the kind check dropped to queue a kind no
// release has.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await t?.close()
})

describe('claimDueEmails and a kind this release does not render', () => {
  it("leaves it to a release that does, and it still holds back its order's later e-mails", async () => {
    const db = t.app.db
    await sql`alter table order_emails drop constraint order_emails_kind_check`.execute(db)
    const data = { orderNumber: 'AAAAA-BBBBB', customer: { email: 'ada@example.com' } }
    const [later, shipped, placed] = await insertEvents(db, [
      { type: 'order.refunded', orderId: 1, data },
      { type: 'order.shipped', orderId: 1, data },
      { type: 'order.placed', orderId: 2, data },
    ])
    await sql`update outbox set fanned_out_at = now()`.execute(db)
    for (const [eventId, orderId, kind] of [
      [later, 1, 'refund'],
      [shipped, 1, 'shipping'],
      [placed, 2, 'confirmation'],
    ]) {
      await sql`insert into order_emails (event_id, order_id, kind, to_address)
                values (${eventId}, ${orderId}, ${kind}, 'ada@example.com')`.execute(db)
    }
    const taken = await claimDueEmails(db, 10, 60_000)
    expect(taken.map((e) => [e.kind, e.eventId])).toEqual([['confirmation', placed]])
    const left = await sql<{ kind: string; attempts: number }>`
      select kind, attempts from order_emails where order_id = 1 order by id`.execute(db)
    expect(left.rows).toEqual([
      { kind: 'refund', attempts: 0 },
      { kind: 'shipping', attempts: 0 },
    ])
  })
})
