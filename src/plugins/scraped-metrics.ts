import { Counter, Gauge, type Registry } from 'prom-client'
import { within } from './within.ts'

/**
 * Makes counters in `registers` that follow totals a background worker keeps in its stats (as
 * `stats()` returns them now). Returns `counter(name, help, pick)`: a counter to which each
 * scrape adds what `pick(stats())` gained since the previous scrape. Each total is a count
 * since the process started, one that never goes down.
 */
export function statsCounters<S>(
  registers: Registry[],
  stats: () => S,
): (name: string, help: string, pick: (stats: S) => number) => Counter {
  return (name, help, pick) => {
    let seen = 0
    return new Counter({
      name,
      help,
      registers,
      collect() {
        const now = pick(stats())
        this.inc(now - seen)
        seen = now
      },
    })
  }
}

/**
 * Makes gauges in `registers` of the database's view (the same from every instance), read when
 * scraped. Returns `gauge(name, help, pick)`: a gauge that shows `pick` of what `read()`
 * answers, or NaN when the read failed, answered undefined or took over 1 s (`what` names the
 * read in that error, as in "reading the webhook backlog"). One read per scrape serves all the
 * gauges made here: the first collect() starts it, the others join it, and its answer serves
 * for 100 ms after it ends. Several workers read it alike: not summed, the largest is taken
 * (aggregator 'max', cluster-metrics.ts).
 */
export function databaseGauges<T>(
  registers: Registry[],
  what: string,
  read: () => Promise<T | undefined>,
): (name: string, help: string, pick: (read: T) => number) => Gauge {
  let reading: Promise<T | undefined> | undefined
  const shared = () => {
    reading ??= within(read(), 1000, what)
      .catch(() => undefined)
      .finally(() => setTimeout(() => (reading = undefined), 100))
    return reading
  }
  return (name, help, pick) =>
    new Gauge({
      name,
      help,
      registers,
      aggregator: 'max',
      async collect() {
        const value = await shared()
        this.set(value === undefined ? Number.NaN : pick(value))
      },
    })
}
