import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ttlCache } from '../src/ttl-cache.ts'

/** A read that answers `${key}:${n}` for its n-th call, settled when `settle` is called. */
function reads() {
  const pending: (() => void)[] = []
  let calls = 0
  let failNext = false
  const read = vi.fn((key: string) => {
    const n = ++calls
    const fail = failNext
    failNext = false
    return new Promise<string>((resolve, reject) =>
      pending.push(() => (fail ? reject(new Error(`read ${n} failed`)) : resolve(`${key}:${n}`))),
    )
  })
  return {
    read,
    failNextRead: () => {
      failNext = true
    },
    settle: async () => {
      for (const s of pending.splice(0)) s()
      await new Promise((r) => setImmediate(r))
    },
  }
}

/** A cache of 1,000 ms that has just answered 'CA:1' for 'CA'. */
async function holdingFirstRead() {
  const r = reads()
  const get = ttlCache(r.read, 1000)
  const first = get('CA')
  await r.settle()
  await first
  return { r, get }
}

describe('ttlCache', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }))
  afterEach(() => vi.useRealTimers())

  it('reads once for concurrent requests and answers from memory in the first half of the life', async () => {
    const r = reads()
    const get = ttlCache(r.read, 1000)
    const [a, b] = [get('CA'), get('CA')]
    await r.settle()
    expect([await a, await b]).toEqual(['CA:1', 'CA:1'])
    vi.advanceTimersByTime(499)
    expect(await get('CA')).toBe('CA:1')
    expect(r.read).toHaveBeenCalledTimes(1)
  })

  it('in the second half answers at once and reads again in the background, once', async () => {
    const { r, get } = await holdingFirstRead()
    vi.advanceTimersByTime(600)
    expect(await get('CA')).toBe('CA:1') // not waiting: the background read is not settled yet
    expect(await get('CA')).toBe('CA:1')
    expect(r.read).toHaveBeenCalledTimes(2)
    await r.settle()
    expect(await get('CA')).toBe('CA:2')
    // The new value's life counts from when its read began (at 600 ms): at 1,100 ms it is in
    // its second half (read 3 starts), at 1,600 ms it is over (a request waits for read 3).
    vi.advanceTimersByTime(500)
    expect(await get('CA')).toBe('CA:2')
    vi.advanceTimersByTime(499)
    expect(await get('CA')).toBe('CA:2')
    expect(r.read).toHaveBeenCalledTimes(3)
    vi.advanceTimersByTime(1)
    const late = get('CA')
    await r.settle()
    expect(await late).toBe('CA:3')
  })

  it('never answers a value older than its life: past it, a request waits for a read', async () => {
    const { r, get } = await holdingFirstRead()
    vi.advanceTimersByTime(1000)
    const late = get('CA')
    let settled = false
    void late.then(() => (settled = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(false)
    await r.settle()
    expect(await late).toBe('CA:2')
  })

  it('past the life, joins the background read in flight instead of starting another', async () => {
    const { r, get } = await holdingFirstRead()
    vi.advanceTimersByTime(900)
    expect(await get('CA')).toBe('CA:1') // starts read 2
    vi.advanceTimersByTime(200)
    const late = get('CA')
    await r.settle()
    expect(await late).toBe('CA:2')
    expect(r.read).toHaveBeenCalledTimes(2)
  })

  it('forgets a failed read at once, and keeps the value when a background read fails', async () => {
    const r = reads()
    const get = ttlCache(r.read, 1000)
    r.failNextRead()
    const failed = get('CA')
    await r.settle()
    await expect(failed).rejects.toThrow('read 1 failed')
    const second = get('CA')
    await r.settle()
    expect(await second).toBe('CA:2')
    vi.advanceTimersByTime(600)
    r.failNextRead()
    expect(await get('CA')).toBe('CA:2') // starts read 3, which fails
    await r.settle()
    expect(await get('CA')).toBe('CA:2') // kept, and read 4 started
    await r.settle()
    expect(await get('CA')).toBe('CA:4')
  })

  it('reads every time with a life of 0, and keeps keys apart', async () => {
    const r = reads()
    const get = ttlCache(r.read, 0)
    const [a, b] = [get('CA'), get('TX')]
    await r.settle()
    expect([await a, await b]).toEqual(['CA:1', 'TX:2'])
    const c = get('CA')
    await r.settle()
    expect(await c).toBe('CA:3')
  })
})
