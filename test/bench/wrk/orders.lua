-- POST /orders as a browser would, each with a fresh idempotency key. Anything but the 303 is
-- a 4xx or 5xx, which wrk counts (no response function: see paths.lua).
-- wrk ... -s orders.lua URL -- SKU,SKU,... STATE,STATE,...
dofile("test/bench/wrk/report.lua")
dofile("test/bench/wrk/form.lua")

function request()
  return orderForm(newKey())
end
