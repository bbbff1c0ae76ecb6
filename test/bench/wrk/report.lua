-- Shared by the bench's wrk scripts (loaded with dofile from the repository root): seeds each
-- thread's random numbers, adds up the failed answers (wrk counts every 4xx and 5xx; a script
-- with a response function counts what else it finds wrong) and prints one line of JSON that
-- test/bench/bench.ts reads.
local threads = {}
unexpected = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function seed()
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
end

function done(summary, latency, requests)
  local bad = summary.errors.status
  for _, t in ipairs(threads) do bad = bad + (t:get("unexpected") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"unexpected":%d,"p50":%.3f,"p90":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, bad,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end

-- A constant arrival rate, the paced cases' (WRK_THREAD_RATE, requests a second for each of
-- wrk's threads): before each request wrk asks delay() how long to wait, and every call takes the
-- thread's next slot on one fixed schedule, so whichever connection is free sends at that slot.
-- A slot already past is skipped, not caught up in a burst (the run then reports a lower rate).
-- wrk times a request from its send, after the delay. wrk's timers count whole milliseconds.
local threadRate = tonumber(os.getenv("WRK_THREAD_RATE") or "")
if threadRate then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } pace_timespec;
    int clock_gettime(int clock, pace_timespec *tp);
  ]]
  local ts = ffi.new("pace_timespec")
  local function nowMs()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / threadRate
  local nextSlot = 0

  function delay()
    local now = nowMs()
    if nextSlot < now then nextSlot = now end
    local wait = nextSlot - now
    nextSlot = nextSlot + interval
    return math.floor(wait + 0.5)
  end
end
