/**
 * Where a service process's request time goes, for finding what makes a latency tail (issue 19,
 * docs/benchmarks.md "The flow's tail: what makes it"). Preloaded into every process of the
 * service (cluster workers inherit the flag):
 *
 *   PROBE_OUT=/tmp/probe.jsonl node --import ./scripts/tail-probe.ts \
 *     --max-semi-space-size=8 --max-old-space-size=192 src/server.ts
 *   kill -WINCH <worker pids>     # reset; run the load; kill -WINCH again: one line per process
 *
 * On SIGWINCH each process appends one JSON line to PROBE_OUT with what happened since the last
 * one, and starts counting afresh: its CPU ms; the event-loop delay (ms, 1 ms resolution); GC
 * pauses by kind (count, total and longest ms, and every pause over 5 ms); pool.connect() waits
 * (µs) and the connections opened and closed; and, in µs (p50, p90, p99, p99.9, max), the server
 * time of each route of the shopper flow and of all of them (`all`; from the `request` event to the
 * response's `finish`, so without the time a request waits to be read)
 * and the round trip of each kind of statement (the batch and single placement, the order
 * lookup, the sales fold, the webhook fan-out, the rest). SIGWINCH, not SIGUSR2: the service shuts down on SIGUSR2 (close-with-grace).
 * Without PROBE_OUT it does nothing. Costs a timer a millisecond and a histogram entry per
 * request and statement: for finding causes, not for throughput figures.
 */
import { appendFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import {
  createHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  type RecordableHistogram,
} from 'node:perf_hooks'

const out = process.env.PROBE_OUT
if (out) probe(out)

function probe(file: string) {
  const eld = monitorEventLoopDelay({ resolution: 1 })
  eld.enable()
  const gcKinds: Record<number, string> = {
    1: 'scavenge',
    2: 'mark-compact',
    4: 'incremental',
    8: 'weakcb',
  }
  let gc: Record<string, { count: number; totalMs: number; maxMs: number }> = {}
  let longPauses: [string, number][] = []
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = ((e as { detail?: { kind?: number } }).detail?.kind ?? 0) as number
      const name = gcKinds[kind] ?? String(kind)
      const g = gc[name] ?? { count: 0, totalMs: 0, maxMs: 0 }
      gc[name] = g
      g.count++
      g.totalMs += e.duration
      g.maxMs = Math.max(g.maxMs, e.duration)
      if (e.duration > 5) longPauses.push([name, Math.round(e.duration * 10) / 10])
    }
  }).observe({ entryTypes: ['gc'] })

  let routes = new Map<string, RecordableHistogram>()
  let statements = new Map<string, RecordableHistogram>()
  let poolWaits = createHistogram()
  let opened = 0
  let closed = 0
  const into = (map: Map<string, RecordableHistogram>, key: string, sinceNs: bigint) => {
    const h = map.get(key) ?? createHistogram()
    map.set(key, h)
    h.record(Math.max(1, Number((process.hrtime.bigint() - sinceNs) / 1000n)))
  }

  const route = (method = '', url = '') =>
    method === 'POST' && url.startsWith('/orders')
      ? 'POST /orders'
      : url === '/'
        ? 'GET /'
        : url.startsWith('/orders/')
          ? 'GET /orders/:n'
          : `${method} other`
  const emit = http.Server.prototype.emit as (this: http.Server, ...args: unknown[]) => boolean
  http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
    if (event === 'request') {
      const [req, res] = args as [http.IncomingMessage, http.ServerResponse]
      const since = process.hrtime.bigint()
      const key = route(req.method, req.url)
      res.once('finish', () => {
        into(routes, key, since)
        into(routes, 'all', since)
      })
    }
    return emit.call(this, event, ...args)
  } as typeof http.Server.prototype.emit

  // pg and pg-pool as the service loads them (CommonJS, so the same module instances).
  const require = createRequire(`${process.cwd()}/package.json`)
  const Pool = require('pg-pool') as {
    prototype: {
      connect: (...a: unknown[]) => unknown
      emit: (e: string, ...a: unknown[]) => boolean
    }
  }
  const poolEmit = Pool.prototype.emit
  Pool.prototype.emit = function (this: unknown, event: string, ...args: unknown[]) {
    if (event === 'connect') opened++
    if (event === 'remove') closed++
    return poolEmit.call(this, event, ...args)
  }
  const connect = Pool.prototype.connect
  Pool.prototype.connect = function (this: unknown, ...args: unknown[]) {
    const since = process.hrtime.bigint()
    const waited = () =>
      poolWaits.record(Math.max(1, Number((process.hrtime.bigint() - since) / 1000n)))
    const [callback] = args
    if (typeof callback === 'function') {
      return connect.call(this, (...result: unknown[]) => {
        waited()
        callback(...result)
      })
    }
    return (connect.call(this) as Promise<unknown>).then((client) => {
      waited()
      return client
    })
  }
  const Client = require('pg').Client as {
    prototype: { query: (config: unknown, ...rest: unknown[]) => unknown }
  }
  const statementKind = (text: unknown) =>
    typeof text !== 'string'
      ? 'other'
      : /^\s*with req as materialized/.test(text)
        ? 'place (batch)'
        : /^\s*with req as \(/.test(text)
          ? 'place (one)'
          : /"order_number" = any/.test(text)
            ? 'find orders'
            : text.includes('pg_try_advisory_xact_lock')
              ? 'sales fold'
              : text.includes('fanned_out_at is null')
                ? 'fan-out'
                : 'other'
  const query = Client.prototype.query
  Client.prototype.query = function (this: unknown, config: unknown, ...rest: unknown[]) {
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text
    const key = statementKind(text)
    const since = process.hrtime.bigint()
    const result = query.call(this, config, ...rest)
    const done = () => into(statements, key, since)
    if (result instanceof Promise) result.then(done, done)
    return result
  }

  const percentiles = (h: RecordableHistogram) => ({
    n: h.count,
    p50: h.percentile(50),
    p90: h.percentile(90),
    p99: h.percentile(99),
    p999: h.percentile(99.9),
    max: h.max,
  })
  const ms = (ns: number) => Math.round(ns / 1e4) / 100
  let cpu = process.cpuUsage()
  let since = Date.now()
  process.on('SIGWINCH', () => {
    const used = process.cpuUsage(cpu)
    const line = {
      pid: process.pid,
      seconds: (Date.now() - since) / 1000,
      cpuMs: Math.round((used.user + used.system) / 1000),
      eventLoopDelayMs: eld.count
        ? {
            p50: ms(eld.percentile(50)),
            p99: ms(eld.percentile(99)),
            p999: ms(eld.percentile(99.9)),
            max: ms(eld.max),
          }
        : null,
      gc,
      gcPausesOver5Ms: longPauses,
      poolWaitsUs: poolWaits.count ? percentiles(poolWaits) : null,
      poolConnectionsOpened: opened,
      poolConnectionsClosed: closed,
      routesUs: Object.fromEntries([...routes].map(([k, h]) => [k, percentiles(h)])),
      statementsUs: Object.fromEntries([...statements].map(([k, h]) => [k, percentiles(h)])),
    }
    appendFileSync(file, `${JSON.stringify(line)}\n`)
    eld.reset()
    gc = {}
    longPauses = []
    routes = new Map()
    statements = new Map()
    poolWaits = createHistogram()
    opened = 0
    closed = 0
    cpu = process.cpuUsage()
    since = Date.now()
  })
}
