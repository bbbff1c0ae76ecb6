// A sales fold that never stops on its own: the SIGKILL test runs it as a child process and kills
// it. Each fold is held open a moment (pg_sleep inside its transaction), so a kill most often
// lands while a batch is deleted from the queue and added to the aggregates but not committed.
import { sql } from 'kysely'
import { connect } from '../../src/db/connect.ts'
import { foldSales } from '../../src/insights/sales-fold.ts'

const db = connect({ databaseUrl: process.env.DATABASE_URL, dataDir: 'unused', poolSize: 1 })
const batchSize = Number(process.env.FOLD_BATCH ?? 2000)
for (;;) {
  const folded = await db.transaction().execute(async (trx) => {
    const n = await foldSales(trx, batchSize)
    await sql`select pg_sleep(0.03)`.execute(trx)
    return n
  })
  process.stdout.write(`folded ${folded}\n`)
}
