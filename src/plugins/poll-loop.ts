import { retryDelayMs } from './outage-log.ts'

export interface PollLoopOptions {
  /** Pause between passes, in ms, when the last one left nothing (more) to do. */
  pollMs: number
  /**
   * One pass: claim a batch and run it. It calls `more()` when the batch was full (more waits):
   * the next pass then starts at once, even when this one goes on to fail. It rejects when the
   * pass failed.
   */
  pass: (more: () => void) => Promise<void>
  /**
   * A pass failed with `err` (or onSuccess threw it). What this throws ends the loop: stop()
   * rejects with it.
   */
  onError: (err: unknown) => void
  /** A pass succeeded. */
  onSuccess?: () => void
  /** The worker's stats: each failed pass adds 1 to `pollFailures`, before onError. */
  counts?: { pollFailures: number }
  /**
   * Whether a failed pass counts toward the backoff (retryDelayMs in outage-log.ts): every one
   * unless this says no. One that does not count neither adds to nor ends the run of failures.
   */
  backsOff?: (err: unknown) => boolean
  /** Waits `pollMs` before the first pass instead of starting it at once. */
  napFirst?: boolean
}

export interface PollLoop {
  /** Wakes the loop now: ends its nap, or, during a pass, makes the next nap return at once. */
  poke(): void
  /**
   * No pass starts after this; resolves once the pass under way (if any) has ended. A grace
   * period for work the pass left running is the caller's (the mail sender aborts its sends
   * after it, the dispatcher's send queue drains within it).
   */
  stop(): Promise<void>
}

/**
 * The loop of a background worker (the mail sender, the webhook dispatcher, the sales fold):
 * runs `pass` again and again, at once while passes find more to do, else after a nap of
 * `pollMs` that a poke ends early. Passes that fail in a row back off: the next one waits
 * retryDelayMs(pollMs, failures in a row), from `pollMs` up to 5 s, until one succeeds.
 */
export function startPollLoop(options: PollLoopOptions): PollLoop {
  const {
    pollMs,
    pass,
    onError,
    onSuccess = () => {},
    counts = { pollFailures: 0 },
    backsOff = () => true,
    napFirst = false,
  } = options
  let stopped = false
  let wake: (() => void) | undefined
  let woken = false

  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false
        return resolve()
      }
      const done = () => {
        clearTimeout(timer)
        wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      wake = done
    })
  const poke = () => {
    if (wake) wake()
    else woken = true
  }

  const loop = async () => {
    if (napFirst) await nap(pollMs)
    let failingInARow = 0
    while (!stopped) {
      let again = false
      try {
        await pass(() => {
          again = true
        })
        failingInARow = 0
        onSuccess()
      } catch (err) {
        counts.pollFailures++
        if (backsOff(err)) failingInARow++
        onError(err)
      }
      if (stopped) break
      if (again) await new Promise((r) => setImmediate(r))
      else await nap(retryDelayMs(pollMs, failingInARow))
    }
  }
  const running = loop()

  return {
    poke,
    async stop() {
      stopped = true
      wake?.()
      await running
    },
  }
}
