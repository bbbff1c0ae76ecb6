-- The shopper flow: GET / (the form, with its idempotency key), POST /orders (303), GET the
-- confirmation it points to, which must show "Most popular in". wrk keeps one script state per
-- thread, not per connection: each answer queues its connection's next step, and a connection
-- takes the queued step as soon as it has read that answer, so each step follows its own.
-- wrk ... -s shopper.lua URL -- SKU,SKU,... STATE,STATE,...
dofile("test/bench/wrk/report.lua")
dofile("test/bench/wrk/form.lua")
local queue = {}

function request()
  return table.remove(queue, 1) or wrk.format("GET", "/")
end

function response(status, headers, body)
  if status == 303 and headers["location"] then
    queue[#queue + 1] = wrk.format("GET", headers["location"])
  elseif status >= 400 then
    return -- wrk counts it; the connection starts again from the form
  elseif status ~= 200 then
    unexpected = unexpected + 1
  else
    local key = string.match(body, 'name="idempotencyKey" value="([^"]+)"')
    if key then
      queue[#queue + 1] = orderForm(key)
    elseif not string.find(body, "Most popular in", 1, true) then
      unexpected = unexpected + 1
    end
  end
end
