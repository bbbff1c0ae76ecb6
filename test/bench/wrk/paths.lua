-- GET a path picked at random from a file, one per line: wrk ... -s paths.lua URL -- FILE
-- No response function: wrk would parse every answer for Lua, CPU the service then lacks,
-- and the 4xx and 5xx it counts itself are the failures these routes can have.
dofile("test/bench/wrk/report.lua")
-- wrk sends no Accept-Encoding: BENCH_ACCEPT_ENCODING (e.g. "br, gzip") asks for compression.
local acceptEncoding = os.getenv("BENCH_ACCEPT_ENCODING")
if acceptEncoding and acceptEncoding ~= "" then wrk.headers["Accept-Encoding"] = acceptEncoding end
local paths = {}

function init(args)
  seed()
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
