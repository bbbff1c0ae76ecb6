import cluster from 'node:cluster'
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client'

/**
 * /metrics under node:cluster (WEB_CONCURRENCY > 1): the shared port hands a scrape to any
 * worker, and a worker's own counters would look like resets from one scrape to the next. The
 * worker that gets the scrape asks the primary (IPC), the primary gathers every worker's
 * registries and its own (it places the orders: its CPU, memory and placing connection count
 * too) and merges them with prom-client's `AggregatorRegistry.aggregate`, by each metric's
 * `aggregator`: sums by default (requests, orders, pool connections, heap), `max` for the
 * database's view that every worker reads alike (backlogs, ages), `average` for event loop lag,
 * and so on.
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
/** The primary's request for one worker's metrics, and the worker's answer. */
interface PartRequest {
  type: 'cluster-metrics:part-request'
  id: number
}
interface PartAnswer {
  type: 'cluster-metrics:part'
  id: number
  metrics?: MetricObjectWithValues<MetricValue<string>>[][]
  error?: string
}

const isRequest = (m: unknown): m is MetricsRequest =>
  (m as MetricsRequest | null)?.type === 'cluster-metrics:request'
const isAnswer = (m: unknown): m is MetricsAnswer =>
  (m as MetricsAnswer | null)?.type === 'cluster-metrics:answer'
const isPartRequest = (m: unknown): m is PartRequest =>
  (m as PartRequest | null)?.type === 'cluster-metrics:part-request'
const isPart = (m: unknown): m is PartAnswer =>
  (m as PartAnswer | null)?.type === 'cluster-metrics:part'

const json = (registries: Registry[]) => Promise.all(registries.map((r) => r.getMetricsAsJSON()))

/**
 * In the primary: answers each worker's request with every worker's metrics and those of `own`
 * (the primary's registries), merged; an error when a worker does not answer within 5 s.
 */
export function serveClusterMetrics(own: Registry[]): void {
  let nextPart = 0
  const parts = new Map<number, (answer: PartAnswer) => void>()
  cluster.on('message', (worker, message: unknown) => {
    if (isPart(message)) parts.get(message.id)?.(message)
    if (!isRequest(message)) return
    const answer = (a: Omit<MetricsAnswer, 'type' | 'id'>) => {
      if (worker.isConnected())
        worker.send({ type: 'cluster-metrics:answer', id: message.id, ...a })
    }
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected())
    const asked = workers.map(
      (w) =>
        new Promise<MetricObjectWithValues<MetricValue<string>>[][]>((resolve, reject) => {
          const id = nextPart++
          const timer = setTimeout(() => settle({ type: 'cluster-metrics:part', id }), 5000)
          const settle = (part: PartAnswer) => {
            clearTimeout(timer)
            parts.delete(id)
            if (part.metrics) resolve(part.metrics)
            else reject(new Error(part.error ?? 'a worker did not answer'))
          }
          parts.set(id, settle)
          w?.send({ type: 'cluster-metrics:part-request', id } satisfies PartRequest)
        }),
    )
    Promise.all([...asked, json(own)])
      .then((all) => AggregatorRegistry.aggregate(all.flat()).metrics())
      .then(
        (text) => answer({ text }),
        (err: Error) => answer({ error: err.message }),
      )
  })
}

let offered: Registry[] | undefined
/**
 * In a worker: `registries` are what the primary gathers from this process, from now on. Once per
 * process listened for: a worker builds one app.
 */
export function offerToCluster(registries: Registry[]): void {
  if (!offered)
    process.on('message', (message: unknown) => {
      if (!isPartRequest(message)) return
      json(offered ?? []).then(
        (metrics) => process.send?.({ type: 'cluster-metrics:part', id: message.id, metrics }),
        (err: Error) =>
          process.send?.({ type: 'cluster-metrics:part', id: message.id, error: err.message }),
      )
    })
  offered = registries
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
