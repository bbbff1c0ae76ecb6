/**
 * Commits that do not hold their row locks through the WAL flush, and the flush waited for
 * afterwards, shared.
 *
 * A transaction's row locks are released only after its commit record is flushed to disk
 * (PostgreSQL's CommitTransaction: RecordTransactionCommit, which waits for XLogFlush under
 * synchronous_commit = on, then the locks). Every order takes its products' rows, so the next
 * placement of the same products waits for the previous one's fsync (2.4-3.7 ms on the bench VM,
 * pg_test_fsync): the flushes run one after the other and cannot be shared. With the commit's
 * wait turned off for that transaction (`synchronous_commit = off`, set local: PostgreSQL docs,
 * "Asynchronous Commit") the locks go as soon as the commit record is written; the caller then
 * waits for a flush that covers it before it tells anyone the order is placed, and that flush is
 * one for every batch committed meanwhile (walFlusher).
 *
 * What changes: another session can see such a transaction's rows for the length of one flush
 * before they are on disk. The database stays consistent after a crash (PostgreSQL replays the
 * WAL in order, so any later commit that is durable makes this one durable too: nothing that
 * read the order and committed can outlive it), and no answer is given before the flush.
 */
import { type Kysely, sql } from 'kysely'

/**
 * A condition, true, that turns off the WAL flush wait of the commit of the statement it is
 * evaluated in (`set_config(..., is_local => true)`: this transaction only; PostgreSQL reads
 * synchronous_commit when it commits). Put it where it is evaluated once, whatever the rows: a
 * WHERE of a CTE the statement always reads (an uncorrelated scalar subquery is an InitPlan).
 */
export const noFlushWaitOnCommit = sql<boolean>`(select set_config('synchronous_commit', 'off', true)) = 'off'`

/**
 * `flushed()` resolves once the WAL up to at least the moment it was called is on disk (and, if
 * the server waits for standbys, acknowledged as its synchronous_commit says). It commits a
 * transaction that has an id (pg_current_xact_id) under the session's synchronous_commit: the
 * commit waits for the flush of its own record, which lies after every commit made before it.
 * Callers share flushes: while one is running, later callers wait for the next one (a running
 * flush may have started before their commit), which starts when it ends; so at most two flushes
 * are out at once, however many batches wait. Rejects with the database's error.
 */
export function walFlusher<DB>(db: Kysely<DB>): () => Promise<void> {
  let running: Promise<void> | undefined
  let next: Promise<void> | undefined
  const start = (): Promise<void> => {
    const flush = sql`select pg_current_xact_id()`.execute(db).then(() => {})
    running = flush
    const clear = () => {
      if (running === flush) running = undefined
    }
    flush.then(clear, clear)
    return flush
  }
  return () => {
    if (!running) return start()
    next ??= running
      .catch(() => {})
      .then(() => {
        next = undefined
        return start()
      })
    return next
  }
}
