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
