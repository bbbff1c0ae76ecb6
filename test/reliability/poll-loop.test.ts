import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type PollLoopOptions, startPollLoop } from '../../src/plugins/poll-loop.ts'

// The loop the mail sender, the webhook dispatcher and the sales fold share, on fake timers:
// the waits their own tests cannot pin without seconds of a broken database.

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

type Step = 'ok' | 'full' | 'fail' | 'full-fail' | 'timeout'

/** A loop (pollMs 50) whose passes go as `script` says ('ok' after it), and when each started. */
function scripted(script: Step[], options: Partial<PollLoopOptions> = {}) {
  const started: number[] = []
  const errors: unknown[] = []
  const counts = { pollFailures: 0 }
  const t0 = Date.now()
  const loop = startPollLoop({
    pollMs: 50,
    counts,
    onError: (err) => errors.push(err),
    async pass(more) {
      started.push(Date.now() - t0)
      const step = script[started.length - 1] ?? 'ok'
      if (step === 'full' || step === 'full-fail') more()
      if (step === 'fail' || step === 'full-fail') throw new Error('refused')
      if (step === 'timeout') throw Object.assign(new Error('canceled'), { code: '57014' })
    },
    ...options,
  })
  return { loop, started, errors, counts }
}

const gaps = (started: number[]) => started.slice(1).map((at, i) => at - (started[i] as number))

describe('the poll loop', () => {
  it('backs off while passes fail in a row (the interval, then 1, 2, 4 and 5 s), not after', async () => {
    const { loop, started, errors, counts } = scripted([
      'fail',
      'fail',
      'fail',
      'fail',
      'fail',
      'fail',
    ])
    await vi.advanceTimersByTimeAsync(17_200)
    expect(gaps(started).slice(0, 8)).toEqual([50, 1000, 2000, 4000, 5000, 5000, 50, 50])
    expect(errors).toHaveLength(6)
    expect(counts.pollFailures).toBe(6)
    await loop.stop()
  })

  it('goes again at once after a full batch, even when that pass then failed', async () => {
    const { loop, started } = scripted(['full', 'full-fail', 'ok'])
    await vi.advanceTimersByTimeAsync(60)
    // At once: the fake setImmediate moves the clock by a millisecond at most.
    expect(started.slice(0, 3).every((at) => at <= 2)).toBe(true)
    expect(gaps(started)[2]).toBe(50)
    await loop.stop()
  })

  it('a failure that does not back off neither adds to the run nor ends it', async () => {
    const { loop, started, counts } = scripted(['fail', 'fail', 'timeout', 'timeout', 'fail'], {
      backsOff: (err) => (err as { code?: string }).code !== '57014',
    })
    await vi.advanceTimersByTimeAsync(5100)
    expect(gaps(started).slice(0, 5)).toEqual([50, 1000, 1000, 1000, 2000])
    expect(counts.pollFailures).toBe(5)
    await loop.stop()
  })

  it('wakes for a poke; one during a pass makes the next nap return at once', async () => {
    const started: number[] = []
    let release = () => {}
    const loop = startPollLoop({
      pollMs: 10_000,
      onError: () => {},
      async pass() {
        started.push(Date.now())
        if (started.length === 2) await new Promise<void>((r) => (release = r))
      },
    })
    const t0 = Date.now()
    await vi.advanceTimersByTimeAsync(100)
    loop.poke()
    await vi.advanceTimersByTimeAsync(0)
    loop.poke()
    release()
    await vi.advanceTimersByTimeAsync(100)
    expect(started.map((at) => at - t0)).toEqual([0, 100, 100])
    await loop.stop()
  })

  it('with napFirst waits the interval first; stop() in that nap ends it with no pass', async () => {
    const late = scripted([], { napFirst: true })
    await vi.advanceTimersByTimeAsync(49)
    expect(late.started).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(late.started).toEqual([50])
    await late.loop.stop()

    const never = scripted([], { napFirst: true })
    await never.loop.stop()
    await vi.advanceTimersByTimeAsync(1000)
    expect(never.started).toEqual([])
  })

  it('stop() waits for the pass under way and starts no other', async () => {
    let passes = 0
    let release = () => {}
    const loop = startPollLoop({
      pollMs: 50,
      onError: () => {},
      async pass() {
        passes++
        await new Promise<void>((r) => (release = r))
      },
    })
    let stopped = false
    const stopping = loop.stop().then(() => (stopped = true))
    await vi.advanceTimersByTimeAsync(1000)
    expect(stopped).toBe(false)
    release()
    await stopping
    await vi.advanceTimersByTimeAsync(1000)
    expect(passes).toBe(1)
  })

  it('ends when onError throws: stop() rejects with it', async () => {
    const { loop } = scripted(['fail'], {
      onError: (err) => {
        throw err
      },
    })
    await expect(loop.stop()).rejects.toThrow('refused')
  })
})
