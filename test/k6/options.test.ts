// The thresholds of a run hold only what the run measures: a Rate without samples reads as 0,
// so `idempotency_replay_ok: rate>0.99` failed every run without the api scenario
// (`RATE=1 k6 run k6/load.js`, or API_SHARE=0) and its summary blamed the service.
import { afterEach, describe, expect, it, vi } from 'vitest'

// options.js declares its custom metrics with k6/metrics, which exists only inside k6.
vi.mock('k6/metrics', () => ({ Counter: class {}, Rate: class {}, Trend: class {} }))

/** options.js and scenarios.js as k6 loads them with these environment variables. */
async function k6With(env: Record<string, string>) {
  vi.resetModules()
  ;(globalThis as { __ENV?: Record<string, string> }).__ENV = env
  const { buildThresholds } = await import('../../k6/lib/options.js')
  const { constantArrival } = await import('../../k6/lib/scenarios.js')
  /** The scenarios and thresholds load.js builds for a total rate. */
  return (rate: number) => {
    const scenarios = Object.keys(constantArrival(rate, '2m'))
    return { scenarios, thresholds: Object.keys(buildThresholds({ scenarios })) }
  }
}

describe('the idempotency threshold', () => {
  afterEach(() => {
    delete (globalThis as { __ENV?: unknown }).__ENV
  })

  it('is set when the api scenario runs and replays', async () => {
    const run = (await k6With({}))(200)
    expect(run.scenarios).toEqual(['shopper', 'api'])
    expect(run.thresholds).toContain('idempotency_replay_ok')
  })

  it('is not set at RATE=1, where the api scenario gets no iteration', async () => {
    const run = (await k6With({ RATE: '1' }))(1)
    expect(run.scenarios).toEqual(['shopper'])
    expect(run.thresholds).not.toContain('idempotency_replay_ok')
    expect(run.thresholds).toContain('checks')
  })

  it('is not set with API_SHARE=0, nor with REPLAY_RATIO=0', async () => {
    const shopperOnly = (await k6With({ API_SHARE: '0' }))(200)
    expect(shopperOnly.scenarios).toEqual(['shopper'])
    expect(shopperOnly.thresholds).not.toContain('idempotency_replay_ok')
    const noReplays = (await k6With({ REPLAY_RATIO: '0' }))(200)
    expect(noReplays.scenarios).toEqual(['shopper', 'api'])
    expect(noReplays.thresholds).not.toContain('idempotency_replay_ok')
  })
})
