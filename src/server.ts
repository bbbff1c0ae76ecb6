import cluster from 'node:cluster'
import closeWithGrace from 'close-with-grace'
import type { App } from './app.ts'
import { type Config, ConfigError, loadConfig } from './config.ts'
import { hostLookupProblem } from './config-checks.ts'
import { bindProblem, listenProblem } from './listen-check.ts'
import { type StopTracing, startTracing } from './tracing/start.ts'

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  console.error(err.message)
  process.exit(1)
}
// A HOST that does not resolve is told now, before the database is opened and migrated.
const hostProblem = await hostLookupProblem(config.HOST)
if (hostProblem) {
  console.error(`Invalid configuration: HOST ${hostProblem}`)
  process.exit(1)
}
// So is a PORT (or HOST) that cannot be bound. By the process that binds it: this one alone, or
// the primary of several workers, whose port they listen on (a worker does not check again).
const portProblem = cluster.isPrimary ? await bindProblem(config) : undefined
if (portProblem) {
  console.error(portProblem)
  process.exit(1)
}

// Tracing starts before the app's modules are imported (hence the imports below, not at the
// top): its instrumentations patch pg and node:http as they load. The primary of several
// workers serves nothing and traces nothing.
const primary = cluster.isPrimary && config.WEB_CONCURRENCY > 1
const stopTracing = primary ? undefined : await startTracing(config)
const { buildApp } = await import('./app.ts')
const { createLogger } = await import('./plugins/logging.ts')
// Here, not at the top: it loads pg, which tracing must have patched first.
const { commandFailure, serviceDatabase } = await import('./db/command.ts')
const { serveClusterMetrics } = await import('./plugins/cluster-metrics.ts')
const { instanceLabels, poolGauge, processMetrics } = await import('./plugins/metrics.ts')
const { Registry } = await import('prom-client')
const { ownWorker, placeForWorkers } = await import('./orders/primary-placement.ts')

if (primary) runPrimary(config)
else await runWorker(config, stopTracing)

/**
 * One process serving: builds the app, listens, and on SIGTERM/SIGINT (or the primary's word)
 * answers 503 with the port still open for SHUTDOWN_DRAIN_MS (plugins/shutdown.ts), then
 * stops accepting, finishes the requests in flight, lets the folder finish its batch, closes the
 * pool, flushes the spans not yet exported (tracing on) and exits 0; SHUTDOWN_TIMEOUT_MS later it exits 1 whatever is left.
 */
async function runWorker(config: Config, stopTracing: StopTracing | undefined) {
  // The primary's word to stop is heard from the start: it can come while the app is still
  // being built (modules loading, migrations), when a message nobody listened to was lost, and
  // the worker went on to listen and serve until the primary killed it. A primary that goes away
  // without a word (killed) takes the workers with it: node:cluster's own disconnect listener,
  // which runs before any of ours, exits the worker at once, and its connections are reset.
  let stopAsked = false
  let stop = () => {
    stopAsked = true
  }
  if (cluster.isWorker) process.on('message', (message) => message === 'shutdown' && stop())

  let app: App
  try {
    app = await buildApp({
      config,
      portClosed: cluster.isWorker ? portClosedEverywhere : undefined,
    })
  } catch (err) {
    // One line a person reads, as npm run migrate and staff print theirs: a sentence for what
    // is foreseen (a database missing, a certificate), class and code only for what is not.
    console.error(`Could not start: ${commandFailure(err, config)}`)
    process.exit(1)
  }

  let closing = false
  /** The listen under way, if any. */
  let listening: Promise<unknown> = Promise.resolve()
  const grace = closeWithGrace(
    { delay: config.SHUTDOWN_TIMEOUT_MS, logger: app.log },
    async ({ signal, err, manual }) => {
      closing = true
      // A listen already asked for ends first (under node:cluster it waits on the primary for the
      // port): closed meanwhile, the app would still take the port and log "listening" after
      // "closing". Once closing, no listen starts (below).
      await listening.catch(() => {})
      if (err) app.log.error({ err }, 'closing after an error')
      else
        app.log.info({ signal: signal ?? (manual ? 'primary' : undefined) }, 'closing gracefully')
      await app.close()
      // The last requests' spans are still in the exporter's buffer. A collector that is down
      // loses them, and says so: it is no reason for a clean stop to exit 1.
      await stopTracing?.().catch((err: unknown) =>
        app.log.warn({ err }, 'tracing: the last spans could not be exported at the stop'),
      )
      // The last word: after "draining" an operator otherwise saw nothing and could not tell a
      // clean stop from a hang (the cluster's primary says "all workers stopped").
      if (!err) app.log.info('stopped: every request answered, the database closed')
    },
  )
  // The primary asks over IPC (a terminal's Ctrl-C may already have signalled us directly).
  // Asked during the start: close now.
  stop = () => {
    if (!closing) grace.close()
  }
  if (stopAsked) stop()
  if (closing) return

  try {
    listening = app.listen({ port: config.PORT, host: config.HOST })
    await listening
  } catch (err) {
    const line = listenProblem(err, config)
    if (line) console.error(line)
    else app.log.fatal({ err }, 'could not start')
    await app.close().catch(() => {})
    process.exit(1)
  }
}

/**
 * Under node:cluster the shared port closes only once the last worker has closed it: a worker
 * answers the requests it held back (plugins/shutdown.ts) when the primary says all have, or 1 s
 * later at most. Answered at once, their clients came back into the queue of a port that another
 * worker was about to close, and were reset (measured: up to 7 of 16 clients per shutdown).
 */
function portClosedEverywhere(): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve()
    process.on('message', (message) => message === 'port closed' && resolve())
    process.once('disconnect', () => resolve())
    setTimeout(resolve, 1000).unref()
    process.send?.('stopped accepting')
  })
}

/**
 * WEB_CONCURRENCY workers sharing the port (node:cluster). A worker that dies is replaced,
 * unless it never got to listen (a start-up failure would only repeat): then all stop, exit 1.
 * SIGTERM/SIGINT are passed on; the primary exits when the last worker has, 0 if all exited 0.
 */
function runPrimary(config: Config) {
  const log = createLogger(config)
  if (!config.DATABASE_URL) {
    console.error(
      `WEB_CONCURRENCY=${config.WEB_CONCURRENCY} needs DATABASE_URL: the embedded database can be opened by one process only.`,
    )
    process.exit(1)
  }

  // The workers' orders are placed here, in batches across workers (orders/primary-placement.ts).
  const placement = placeForWorkers(() => serviceDatabase(config, { placing: true }), {
    batchMax: config.ORDER_BATCH_MAX,
    emails: Boolean(config.SMTP_URL),
    log,
  })
  /** Exits once the placement's pool is closed (2 s at most: a database gone does not hold it). */
  const exit = (code: number) => {
    const late = new Promise((resolve) => setTimeout(resolve, 2000).unref())
    Promise.race([placement.close().catch(() => {}), late]).finally(() => process.exit(code))
  }

  let stopping = false
  let exitCode = 0
  const listened = new Set<number>()
  const workers = () => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined)

  const stop = (code: number) => {
    if (stopping) return
    stopping = true
    exitCode = code
    if (workers().length === 0) exit(exitCode)
    for (const worker of workers()) if (worker.isConnected()) worker.send('shutdown')
    // Workers time out on their own after SHUTDOWN_TIMEOUT_MS; this only catches a stuck one.
    setTimeout(() => {
      log.error('workers did not stop in time; killing them')
      for (const worker of workers()) worker.process.kill('SIGKILL')
      process.exit(1)
    }, config.SHUTDOWN_TIMEOUT_MS + 5000).unref()
  }

  // Each worker closes its part of the port at the end of its drain and says so; once all have,
  // the port is closed and they may answer what they held back (portClosedEverywhere).
  const stoppedAccepting = new Set<number>()
  cluster.on('message', (worker, message) => {
    if (message !== 'stopped accepting') return
    stoppedAccepting.add(worker.id)
    if (workers().every((w) => stoppedAccepting.has(w.id)))
      for (const w of workers()) if (w.isConnected()) w.send('port closed')
  })
  cluster.on('listening', (worker) => {
    listened.add(worker.id)
    log.info({ worker: worker.process.pid }, 'worker listening')
  })
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) exitCode = 1
      if (workers().length === 0) {
        log.info({ exitCode }, 'all workers stopped')
        exit(exitCode)
      }
      return
    }
    if (!listened.has(worker.id)) {
      log.fatal({ worker: worker.process.pid, code, signal }, 'a worker could not start; stopping')
      stop(1)
      return
    }
    log.error({ worker: worker.process.pid, code, signal }, 'worker died; starting another')
    cluster.fork(ownWorker)
  })
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      log.info({ signal }, 'stopping workers')
      stop(0)
    })
  }

  // A scrape reaches one worker; it asks here for all workers' metrics and the primary's own
  // (its process, its placing connection), merged.
  const own = new Registry()
  own.setDefaultLabels(instanceLabels())
  poolGauge(own, placement.db)
  serveClusterMetrics([processMetrics(), own])
  log.info({ workers: config.WEB_CONCURRENCY }, 'starting workers')
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) cluster.fork(ownWorker)
}
