-- What a browser posts from the order form, as the autocannon flows in flows.ts do.
-- Script arguments: SKU,SKU,... STATE,STATE,...
skus, states = {}, {}

function init(args)
  seed()
  split(args[1], skus)
  split(args[2], states)
end

function split(list, into)
  for item in string.gmatch(list, "[^,]+") do into[#into + 1] = item end
end

-- A random (version 4) UUID, as the form's key is.
function newKey()
  return string.format("%08x-%04x-4%03x-%04x-%04x%08x", math.random(0, 0x7fffffff),
    math.random(0, 0xffff), math.random(0, 0xfff), math.random(0x8000, 0xbfff),
    math.random(0, 0xffff), math.random(0, 0x7fffffff))
end

function orderForm(key)
  return wrk.format("POST", "/orders",
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "sku=" .. skus[math.random(#skus)] ..
    "&quantity=1&name=Ada+Lovelace&email=ada%40example.com&address=12+Analytical+Way" ..
    "&city=Austin&state=" .. states[math.random(#states)] .. "&zip=78701&idempotencyKey=" .. key)
end
