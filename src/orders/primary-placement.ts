import cluster, { type Worker } from 'node:cluster'
import DataLoader from 'dataloader'
import type { Kysely } from 'kysely'
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
 * the orders its requests made in one event-loop turn to the primary (IPC, one message), the
 * primary batches every worker's orders together as one worker does its own (orderBatcher:
 * the next batch gathers while one is with the database), and answers each worker's message
 * with its orders' outcomes in order. Lookups stay in the workers: reads do not contend.
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

/**
 * In the primary: places the orders the workers send, on `db` (opened when the first arrives,
 * after a worker has migrated the schema), batched across workers (orderBatcher). What settles
 * in one turn goes back to each worker in one message: a message is a write and a wake-up of
 * the worker, which cost as much as the orders' own encoding.
 */
export function placeForWorkers(
  openDb: () => Kysely<Database>,
  { batchMax, emails }: { batchMax: number; emails: boolean },
): { close(): Promise<void> } {
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
  cluster.on('message', (worker, message: unknown) => {
    if (!isPlace(message)) return
    db ??= openDb()
    batcher ??= orderBatcher(db, {
      batchMax,
      emails,
      onBatch: (_kind, size) => batchSizes.push(size),
    })
    const placing = batcher
    Promise.all(message.requests.map((r) => placing.place(r).then((result) => result, sent))).then(
      (results) => {
        if (answers.size === 0) setImmediate(send)
        const list = answers.get(worker) ?? []
        list.push({ id: message.id, results })
        answers.set(worker, list)
      },
    )
  })
  return { close: async () => db?.destroy() }
}

/**
 * In a worker: `place` for the order routes, through the primary. The orders of one event-loop
 * turn go in one message. Rejects with an error code EPIPE (the database unavailable, to the
 * error handler: a 503) when the primary is gone or goes before answering.
 */
export function placeThroughPrimary(
  onBatch: (size: number) => void,
): (request: OrderRequest) => Promise<PlaceOrderResult> {
  let nextId = 0
  const waiting = new Map<
    number,
    (results: PlacedMessage['answers'][number]['results'] | Error) => void
  >()
  process.on('message', (message: unknown) => {
    if (!isPlaced(message)) return
    for (const size of message.batchSizes) onBatch(size)
    for (const { id, results } of message.answers) waiting.get(id)?.(results)
  })
  process.on('disconnect', () => {
    const gone = Object.assign(new Error('the primary process is gone'), { code: 'EPIPE' })
    for (const settle of waiting.values()) settle(gone)
  })
  const loader = new DataLoader<OrderRequest, PlaceOrderResult>(
    (requests) =>
      new Promise((resolve, reject) => {
        if (!process.send || !process.connected)
          return reject(Object.assign(new Error('no primary process'), { code: 'EPIPE' }))
        const id = nextId++
        waiting.set(id, (results) => {
          waiting.delete(id)
          if (results instanceof Error) return reject(results)
          resolve(results.map((r) => (r.kind === 'error' ? received(r) : r)))
        })
        process.send({ type: 'orders:place', id, requests: [...requests] } satisfies PlaceMessage)
      }),
    { cache: false, batchScheduleFn: (run) => setImmediate(run) },
  )
  return (request) => loader.load(request)
}
