import cluster, { type Worker } from 'node:cluster'
import DataLoader from 'dataloader'
import { type Kysely, sql } from 'kysely'
import { isDatabaseUnavailable } from '../db/errors.ts'
import type { Database } from '../db/schema.ts'
import { orderBatcher } from './order-batcher.ts'
import type { PlaceOrderResult } from './placement.ts'
import type { OrderRequest } from './schemas.ts'

/**
 * Orders placed by the primary for every worker (WEB_CONCURRENCY > 1). Each worker placing its
 * own batches halved the batches and made the two workers' statements wait on each other's
 * product rows through each commit: two workers placed 0.6x the orders one did, at 1.6x the
 * Node and 2.1x the PostgreSQL CPU per order (docs/benchmarks.md, "Stop 25"). So a worker sends
 * its orders to the primary (IPC; while a message of its is unanswered, an event-loop turn's
 * orders in one), the primary batches every worker's orders together as one worker does its own
 * (orderBatcher: the next batch gathers while one is with the database), and answers each
 * worker's message with its orders' outcomes in order. Lookups stay in the workers: reads do
 * not contend. The workers' readiness asks the primary's connection too (primaryCanPlace).
 */

interface PlaceMessage {
  type: 'orders:place'
  id: number
  requests: OrderRequest[]
}

/** An error as it crosses the channel: what the error handler and the logs read of it. */
interface SentError {
  kind: 'error'
  message: string
  code?: string
  constraint?: string
}

/**
 * The outcomes of one or more of a worker's messages (those settled in one event-loop turn of the
 * primary, usually by one batch), and the sizes of the batches placed since the last answer
 * to any worker, for that worker's orders_batch_size (the metrics are summed over workers).
 */
interface PlacedMessage {
  type: 'orders:placed'
  answers: { id: number; results: (PlaceOrderResult | SentError)[] }[]
  batchSizes: number[]
}

/**
 * The environment this service's primary forks its workers with. Under another cluster manager
 * (pm2's cluster mode forks node:cluster workers too) there is no primary to place the orders:
 * each worker places its own, as one process does.
 */
export const ownWorker = { ORDER_SERVICE_WORKER: '1' }

/** Whether this process is a worker of this service's primary, which places its orders. */
export const placedByPrimary = (): boolean =>
  cluster.isWorker && process.env.ORDER_SERVICE_WORKER === '1'

const isPlace = (m: unknown): m is PlaceMessage =>
  (m as PlaceMessage | null)?.type === 'orders:place'
const isPlaced = (m: unknown): m is PlacedMessage =>
  (m as PlacedMessage | null)?.type === 'orders:placed'

/**
 * What the worker's error handler reads of an error: its message, SQLSTATE or socket code and
 * constraint. An error that means the database is unreachable keeps that meaning as code 08006
 * (connection_failure, PostgreSQL Appendix A) when its own code would not say it (pg's
 * messages, an AggregateError of several addresses).
 */
export function sent(err: unknown): SentError {
  const e = err instanceof Error ? err : new Error(String(err))
  const { code, constraint } = e as { code?: unknown; constraint?: unknown }
  const out: SentError = { kind: 'error', message: e.message }
  if (typeof code === 'string') out.code = code
  if (typeof constraint === 'string') out.constraint = constraint
  if (isDatabaseUnavailable(e) && !isDatabaseUnavailable(received(out))) out.code = '08006'
  return out
}

/** The error a worker's route sees for one `sent` by the primary. */
export function received({ message, code, constraint }: SentError): Error {
  return Object.assign(new Error(message), code && { code }, constraint && { constraint })
}

/** A worker's question whether the primary can reach the database to place orders (/readyz). */
interface CheckMessage {
  type: 'orders:check'
  id: number
}
interface CheckedMessage {
  type: 'orders:checked'
  id: number
  error?: SentError
}

const isCheck = (m: unknown): m is CheckMessage =>
  (m as CheckMessage | null)?.type === 'orders:check'
const isChecked = (m: unknown): m is CheckedMessage =>
  (m as CheckedMessage | null)?.type === 'orders:checked'

/** What the primary logs with: a pino logger's two levels it uses. */
interface Log {
  warn(object: object, message: string): void
}

/**
 * In the primary: places the orders the workers send, on `db` (opened when the first order or
 * readiness check arrives, after a worker has migrated the schema), batched across workers
 * (orderBatcher), and answers the workers' readiness checks with a `select 1` on it. What
 * one batch settles goes back to each worker in one message, sent once the promises it
 * resolved have run (nextTick; setImmediate waited for the loop's other callbacks too, a
 * millisecond or more of the half-rate flow's p99): a message is a write and a wake-up of the
 * worker, which cost as much as the orders' own encoding. A placement's error is
 * logged here once, with its stack (the worker's log has the request).
 */
export function placeForWorkers(
  openDb: () => Kysely<Database>,
  { batchMax, emails, log }: { batchMax: number; emails: boolean; log: Log },
): { close(): Promise<void>; db(): Kysely<Database> | undefined } {
  let db: Kysely<Database> | undefined
  let batcher: ReturnType<typeof orderBatcher> | undefined
  let batchSizes: number[] = []
  const answers = new Map<Worker, PlacedMessage['answers']>()
  const send = () => {
    for (const [worker, list] of answers) {
      if (!worker.isConnected()) continue
      worker.send({ type: 'orders:placed', answers: list, batchSizes } satisfies PlacedMessage)
      batchSizes = []
    }
    answers.clear()
  }
  const logged = new WeakSet<object>()
  /** Orders being placed, and the error of the last that failed for want of the database. */
  let placing = 0
  let unavailable: SentError | undefined
  const failed = (err: unknown): SentError => {
    if (err instanceof Error && !logged.has(err)) {
      logged.add(err)
      log.warn({ err }, 'placing orders for the workers failed')
    }
    const out = sent(err)
    if (isDatabaseUnavailable(received(out))) unavailable = out
    return out
  }
  const placed = (result: PlaceOrderResult) => {
    unavailable = undefined
    return result
  }
  const answerCheck = (worker: Worker, id: number, error?: SentError) => {
    if (worker.isConnected())
      worker.send({ type: 'orders:checked', id, ...(error && { error }) } satisfies CheckedMessage)
  }
  cluster.on('message', (worker, message: unknown) => {
    if (isCheck(message)) {
      // The one connection is the batch's while one is placed (a lock wait can hold it for
      // seconds): then the answer is how the last placement went, not a wait behind it.
      if (placing > 0) return answerCheck(worker, message.id, unavailable)
      db ??= openDb()
      sql`select 1`.execute(db).then(
        () => answerCheck(worker, message.id),
        (err: unknown) => answerCheck(worker, message.id, sent(err)),
      )
      return
    }
    if (!isPlace(message)) return
    db ??= openDb()
    batcher ??= orderBatcher(db, {
      batchMax,
      emails,
      onBatch: (_kind, size) => batchSizes.push(size),
    })
    const orders = batcher
    placing += message.requests.length
    Promise.all(message.requests.map((r) => orders.place(r).then(placed, failed))).then(
      (results) => {
        placing -= message.requests.length
        if (answers.size === 0) process.nextTick(send)
        const list = answers.get(worker) ?? []
        list.push({ id: message.id, results })
        answers.set(worker, list)
      },
    )
  })
  return { close: async () => db?.destroy(), db: () => db }
}

let nextId = 0
/** Messages sent and not yet answered: how the worker's batches are scheduled. */
let unanswered = 0
let listening = false
/** The worker's questions to the primary awaiting an answer, by id. */
const waiting = new Map<number, (answer: unknown) => void>()
let onBatch: (size: number) => void = () => {}

function onAnswer(message: unknown) {
  if (isPlaced(message)) {
    for (const size of message.batchSizes) onBatch(size)
    for (const { id, results } of message.answers) waiting.get(id)?.(results)
  } else if (isChecked(message)) waiting.get(message.id)?.(message)
}

/**
 * Sends the primary what `build` makes of a fresh id and resolves with its answer. Node's
 * cluster ends a worker whose primary is gone (process.exit, before any listener of ours runs),
 * so an answer that never comes is not waited for past that; asked without a primary, rejects
 * with code EPIPE (the database unavailable, to the error handler: a 503).
 */
function ask<T>(build: (id: number) => object): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!process.send || !process.connected)
      return reject(Object.assign(new Error('no primary process'), { code: 'EPIPE' }))
    if (!listening) process.on('message', onAnswer)
    listening = true
    const id = nextId++
    unanswered++
    waiting.set(id, (answer) => {
      waiting.delete(id)
      unanswered--
      resolve(answer as T)
    })
    process.send(build(id))
  })
}

/**
 * In a worker: `place` for the order routes, through the primary; `countBatch` is told the size
 * of each batch the primary placed that this worker is to count (orders_batch_size: each batch
 * is counted by one worker, and the metrics are summed over workers). While an earlier message
 * is unanswered the orders of one event-loop turn go in one message (setImmediate): each
 * message costs both processes a write and a wake-up. With none, an order goes at once
 * (nextTick): waiting for the turn's other callbacks only adds to its time.
 */
export function placeThroughPrimary(
  countBatch: (size: number) => void,
): (request: OrderRequest) => Promise<PlaceOrderResult> {
  onBatch = countBatch
  const loader = new DataLoader<OrderRequest, PlaceOrderResult>(
    async (requests) => {
      const results = await ask<PlacedMessage['answers'][number]['results']>(
        (id) => ({ type: 'orders:place', id, requests: [...requests] }) satisfies PlaceMessage,
      )
      return results.map((r) => (r.kind === 'error' ? received(r) : r))
    },
    {
      cache: false,
      batchScheduleFn: (run) => (unanswered > 0 ? setImmediate(run) : process.nextTick(run)),
    },
  )
  return (request) => loader.load(request)
}

/**
 * In a worker: resolves when the primary's connection answers `select 1`, rejects with its error
 * otherwise (for /readyz: orders fail while it cannot).
 */
export async function primaryCanPlace(): Promise<void> {
  const answer = await ask<CheckedMessage>(
    (id) => ({ type: 'orders:check', id }) satisfies CheckMessage,
  )
  if (answer.error) throw received(answer.error)
}
