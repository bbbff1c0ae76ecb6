import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/db/connect.ts'
import { runMail } from '../../src/mail/cli.ts'
import { commandTestDatabase } from '../helpers/context.ts'

// `npm run mail -- requeue-failed` against the test database (a PostgreSQL database of its own,
// or an embedded one in a temporary folder), run as `runMail`, the function the script runs.
let env: Record<string, string>
let drop: () => Promise<void>
beforeAll(async () => {
  ;({ env, drop } = await commandTestDatabase('mail-cli-'))
})
afterAll(async () => {
  await drop?.()
})

async function mail(args: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await runMail(args, env, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  })
  return { code, stdout, stderr }
}

describe('npm run mail', () => {
  it.each([
    [[], 'Name one command: requeue-failed'],
    [['resend'], 'Name one command: requeue-failed'],
    [['requeue-failed', '--days', '0'], '--days must be a whole number from 1 to 30'],
    [['requeue-failed', '--days', '31'], '--days must be a whole number from 1 to 30'],
    [['requeue-failed', '--days', '2.5'], '--days must be a whole number from 1 to 30'],
    [['requeue-failed', '--all'], 'The options are --days N (with requeue-failed) and --help'],
    // One --days would silently win over the other, as a second --role of npm run staff.
    [
      ['requeue-failed', '--days', '2', '--days', '3'],
      "--days given 2 times ('2', '3'): give it once",
    ],
    [['requeue-failed', '--days=3', '--days=3'], "--days given 2 times ('3', '3'): give it once"],
  ])('%j: bad usage (exit 2), the reason then the usage', async (args, reason) => {
    const ran = await mail(args)
    expect(ran).toEqual({ code: 2, stdout: '', stderr: expect.stringContaining(`${reason}\n`) })
    expect(ran.stderr).toContain('Usage: npm run mail -- requeue-failed [--days N]')
  })

  it('--help: the usage and what it does (exit 0)', async () => {
    const ran = await mail(['--help'])
    expect(ran.code).toBe(0)
    expect(ran.stdout).toContain('Queues again the failed order e-mails')
  })

  it('requeue-failed: the failed e-mails of orders within --days are pending again', async () => {
    // The schema first (the command prepares it), then two orders' failed e-mails, 2 and 10 days old.
    expect(await mail(['requeue-failed'])).toMatchObject({ code: 0 })
    const db = connect({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR ?? '' })
    try {
      for (const [n, days] of [
        [1, 2],
        [2, 10],
      ] as const) {
        await sql`
          insert into orders (order_number, idempotency_key, request_hash, total_cents, created_at,
            customer_name, email, address, city, state, zip)
          values (${`T-${n}`}, ${`key-${n}`}, 'h', 1200, now() - make_interval(days => ${days}),
            'Ada', 'ada@example.com', '1 Way', 'Austin', 'TX', '78701')`.execute(db)
        await sql`
          insert into order_emails (event_id, order_id, kind, to_address, status, attempts)
          select ${n}, id, 'confirmation', 'ada@example.com', 'failed', 3
          from orders where order_number = ${`T-${n}`}`.execute(db)
      }
    } finally {
      await db.destroy()
    }
    expect(await mail(['requeue-failed', '--days', '3'])).toEqual({
      code: 0,
      stdout:
        'Queued 1 failed e-mail of orders placed in the last 3 days again: the mail senders take it at their next poll.\n',
      stderr: '',
    })
    // One day: said in the singular.
    expect((await mail(['requeue-failed', '--days', '1'])).stdout).toBe(
      'Queued 0 failed e-mails of orders placed in the last day again: the mail senders take them at their next poll.\n',
    )
    const after = connect({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR ?? '' })
    try {
      const { rows } = await sql<{ order_number: string; status: string }>`
        select o.order_number, m.status from order_emails m join orders o on o.id = m.order_id
        order by 1`.execute(after)
      expect(rows).toEqual([
        { order_number: 'T-1', status: 'pending' },
        { order_number: 'T-2', status: 'failed' },
      ])
    } finally {
      await after.destroy()
    }
  })
})
