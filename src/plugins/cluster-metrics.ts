import cluster from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'

/**
 * /metrics under node:cluster (WEB_CONCURRENCY > 1): the shared port hands a scrape to any
 * worker, and a worker's own counters would look like resets from one scrape to the next. The
 * worker that gets the scrape asks the primary (IPC), the primary gathers every worker's
 * registries (prom-client's AggregatorRegistry) and merges them by each metric's `aggregator`:
 * sums by default (requests, orders, pool connections, heap), `max` for the database's view
 * that every worker reads alike (backlogs, ages), `average` for event loop lag, and so on.
 */

interface MetricsRequest {
  type: 'cluster-metrics:request'
  id: number
}
interface MetricsAnswer {
  type: 'cluster-metrics:answer'
  id: number
  text?: string
  error?: string
}

const isRequest = (m: unknown): m is MetricsRequest =>
  (m as MetricsRequest | null)?.type === 'cluster-metrics:request'
const isAnswer = (m: unknown): m is MetricsAnswer =>
  (m as MetricsAnswer | null)?.type === 'cluster-metrics:answer'

/** In the primary: answers each worker's request with all workers' metrics, merged. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry()
  cluster.on('message', (worker, message: unknown) => {
    if (!isRequest(message)) return
    const answer = (a: Omit<MetricsAnswer, 'type' | 'id'>) => {
      if (worker.isConnected())
        worker.send({ type: 'cluster-metrics:answer', id: message.id, ...a })
    }
    aggregator.clusterMetrics().then(
      (text) => answer({ text }),
      (err: Error) => answer({ error: err.message }),
    )
  })
}

let offered = false
/**
 * In a worker: `registries` are what the primary gathers from this process (prom-client answers
 * its requests from now on). Once per process: a worker builds one app.
 */
export function offerToCluster(registries: Registry[]): void {
  if (!offered) new AggregatorRegistry() // its constructor installs the worker's listener
  offered = true
  AggregatorRegistry.setRegistries(registries)
}

let nextId = 0
const waiting = new Map<number, (answer: MetricsAnswer) => void>()
/**
 * In a worker: every worker's metrics, merged by the primary, as Prometheus text. Rejects when
 * the primary does not answer within `timeoutMs` (prom-client gives up on a worker after 5 s)
 * or the IPC channel is gone (the service is stopping).
 */
export function clusterMetrics(timeoutMs = 6000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!process.send || !process.connected) return reject(new Error('no primary to ask'))
    const id = nextId++
    const timer = setTimeout(
      () => settle({ type: 'cluster-metrics:answer', id, error: 'the primary did not answer' }),
      timeoutMs,
    )
    const settle = (answer: MetricsAnswer) => {
      clearTimeout(timer)
      waiting.delete(id)
      if (waiting.size === 0) process.off('message', onAnswer)
      if (answer.text !== undefined) resolve(answer.text)
      else reject(new Error(`cluster metrics: ${answer.error}`))
    }
    // Listening only while asking: an idle worker keeps no extra listener.
    if (waiting.size === 0) process.on('message', onAnswer)
    waiting.set(id, settle)
    process.send({ type: 'cluster-metrics:request', id } satisfies MetricsRequest)
  })
}

function onAnswer(message: unknown) {
  if (isAnswer(message)) waiting.get(message.id)?.(message)
}
