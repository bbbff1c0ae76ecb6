-- GET a path picked at random from a file, one per line: wrk ... -s paths.lua URL -- FILE
-- No response function: wrk would parse every answer for Lua, CPU the service then lacks,
-- and the 4xx and 5xx it counts itself are the failures these routes can have.
dofile("test/bench/wrk/report.lua")
local paths = {}

function init(args)
  seed()
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
