import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { customer } from './context.ts'
import { logLines, type ServerProcess } from './server.ts'

const body = JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer })

export interface Outcome {
  /** The status, or the error's code when there was no answer (ECONNRESET, ECONNREFUSED…). */
  status: number | string
  retryAfter?: string
  connection?: string
  orderNumber?: string
  /** When the request's last byte was handed to the kernel (ms since the epoch). */
  writtenAt?: number
}

/** POST /api/orders on a connection of its own (no agent: a fresh TCP connection each time). */
export function placeOrder(url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    let writtenAt: number | undefined
    const req = http.request(
      `${url}/api/orders`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'idempotency-key': randomUUID(),
        },
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            connection: res.headers.connection,
            orderNumber: res.headers.location?.split('/').pop(),
          }),
        )
      },
    )
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ status: err.code ?? err.message, writtenAt }),
    )
    req.end(body, () => (writtenAt = Date.now()))
  })
}

/**
 * SIGTERM under load: waits for `workers` workers to listen, then `clients` loops place orders,
 * each on a connection of its own, until the port is closed (refused), 10 s after the signal at
 * most; with `openEveryMs`, also one new order every that many ms whatever the answers (clients
 * arriving on their own). SIGTERM once `acks` orders are placed (or 15 s passed). Resolves once
 * the server has exited and every client has stopped.
 */
export async function shutdownUnderLoad(
  server: ServerProcess,
  { clients = 16, acks = 100, workers = 1, openEveryMs = 0 } = {},
) {
  const listening = () => logLines(server.stdout).filter((l) => l.msg === 'worker listening')
  while (workers > 1 && listening().length < workers) await new Promise((r) => setTimeout(r, 50))

  const outcomes: Outcome[] = []
  let signalledAt = 0
  const over = (o: Outcome) =>
    o.status === 'ECONNREFUSED' || (signalledAt > 0 && Date.now() - signalledAt > 10_000)
  const loop = async () => {
    for (;;) {
      const outcome = await placeOrder(server.url)
      outcomes.push(outcome)
      if (over(outcome)) return
    }
  }
  const open = async () => {
    const pending: Promise<void>[] = []
    let stop = false
    while (!stop) {
      pending.push(
        placeOrder(server.url).then((o) => {
          outcomes.push(o)
          stop ||= over(o)
        }),
      )
      await new Promise((r) => setTimeout(r, openEveryMs))
    }
    await Promise.all(pending)
  }
  const running = [...Array.from({ length: clients }, loop), ...(openEveryMs ? [open()] : [])]

  const deadline = Date.now() + 15_000
  while (outcomes.filter((o) => o.status === 201).length < acks && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20))
  signalledAt = Date.now()
  server.proc.kill('SIGTERM')
  const exit = await server.exited
  await Promise.all(running)
  return { outcomes, signalledAt, exit }
}

/** How many requests got each status or error code: `{"201": 480, "503": 212, "ECONNREFUSED": 16}`. */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const { status } of outcomes) counts[status] = (counts[status] ?? 0) + 1
  return counts
}
