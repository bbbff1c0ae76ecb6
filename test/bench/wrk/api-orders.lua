-- POST /api/orders with one line of quantity 1 and a fresh Idempotency-Key: the same request
-- body in every version of the API since the first, so `npm run bench:ab` can compare the cost of
-- placing one order across versions whose order form changed (issue 17's quantity per product).
-- wrk ... -s api-orders.lua URL -- SKU,SKU,... STATE,STATE,...
dofile("test/bench/wrk/report.lua")
dofile("test/bench/wrk/form.lua")

function request()
  local state, city, zip = pickAddress()
  return wrk.format("POST", "/api/orders",
    { ["Content-Type"] = "application/json", ["Idempotency-Key"] = newKey() },
    '{"items":[{"sku":"' .. skus[math.random(#skus)] .. '","quantity":1}],"customer":' ..
    '{"name":"Ada Lovelace","email":"ada@example.com","address":"12 Analytical Way",' ..
    '"city":"' .. city .. '","state":"' .. state .. '","zip":"' .. zip .. '"}}')
end
