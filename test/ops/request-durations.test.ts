import { Histogram, type Metric, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { RequestDurations } from '../../src/plugins/metrics.ts'

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const name = 'http_request_duration_seconds'
const help = 'Time to answer a request, by method, route template and status code'

describe('RequestDurations', () => {
  it("writes in /metrics exactly what prom-client's Histogram writes for the same requests", async () => {
    const ours = new Registry()
    const durations = new RequestDurations({ name, help, buckets })
    ours.registerMetric(durations as unknown as Metric)
    const theirs = new Registry()
    const histogram = new Histogram({
      name,
      help,
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets,
      registers: [theirs],
    })
    const expectSame = async () => expect(await ours.metrics()).toBe(await theirs.metrics())
    await expectSame() // nothing observed yet
    const routes = [
      '/api/orders/:orderNumber',
      '/orders/:orderNumber',
      '(none)',
      '/a "quoted"\\ one',
    ]
    // On the bounds, between them, beyond the last, and zero; series first seen in a mixed order.
    const seconds = [0, 0.001, 0.0011, 0.0025, 0.003, 0.05, 0.7, 1, 2.5, 5, 5.01, 30, 1e-7]
    let i = 0
    for (const value of seconds) {
      for (const status of [200, 404, 503]) {
        const route = routes[i++ % routes.length] as string
        const method = i % 3 === 0 ? 'POST' : 'GET'
        durations.observe(method, route, status, value)
        histogram.observe({ method, route, status_code: status }, value)
      }
    }
    await expectSame()
    durations.reset()
    histogram.reset()
    await expectSame()
  })
})
