-- What a browser posts from the order form, as the autocannon flows in flows.ts do.
-- Script arguments (formArgs in flows.ts): SKU,SKU,... STATE,STATE,... [one] [SKU=CENTS,...]
-- The SKUs in the form's order. A third argument "one" makes every order one line, the only
-- kind an order form before issue 17 could post: bench:ab passes it so two versions place the
-- same orders. The last, each product's price in cents as the form shows it, is posted in its
-- hidden price-<SKU> field; without it (an older caller) the form goes without them, as a page
-- before those fields did.
skus, states, prices = {}, {}, {}
oneLine = false

-- A city and a ZIP code of each state the bench ships to (flows.ts `states`), the pairs of
-- scripts/state-addresses.ts (flows.test.ts holds them to it): a ZIP of another state is refused.
addresses = {
  CA = { "Los Angeles", "90012" }, TX = { "Houston", "77002" }, FL = { "Miami", "33130" },
  NY = { "New York", "10007" }, PA = { "Philadelphia", "19107" }, IL = { "Chicago", "60601" },
  OH = { "Columbus", "43215" }, GA = { "Atlanta", "30303" }, NC = { "Charlotte", "28202" },
  MI = { "Detroit", "48226" }, WA = { "Seattle", "98104" }, VT = { "Burlington", "05401" },
}

function init(args)
  seed()
  split(args[1], skus)
  split(args[2], states)
  for _, state in ipairs(states) do
    assert(addresses[state], "form.lua has no address in " .. state .. ": add one to addresses")
  end
  for i = 3, #args do
    if args[i] == "one" then oneLine = true end
    for sku, cents in string.gmatch(args[i], "([^,=]+)=(%d+)") do prices[sku] = cents end
  end
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

-- How many products an order chooses: one in most, two or three in some (80%, 15%, 5%; the
-- same mix as formLineCount in flows.ts).
function lineCount()
  if oneLine then return 1 end
  local r = math.random()
  if r < 0.8 then return 1 elseif r < 0.95 then return 2 else return 3 end
end

-- A quantity field for every product, as a browser posts the form: 1 for each of lineCount()
-- different products, empty for the others (as the page leaves them); each followed by the product's price-<SKU>, if known.
function quantities()
  local chosen, left = {}, lineCount()
  while left > 0 do
    local sku = skus[math.random(#skus)]
    if not chosen[sku] then chosen[sku] = true; left = left - 1 end
  end
  local fields = {}
  for i, sku in ipairs(skus) do
    fields[i] = "qty-" .. sku .. "=" .. (chosen[sku] and "1" or "") ..
      (prices[sku] and ("&price-" .. sku .. "=" .. prices[sku]) or "")
  end
  return table.concat(fields, "&")
end

-- One of `states` at random, with its city and ZIP code.
function pickAddress()
  local state = states[math.random(#states)]
  local address = addresses[state]
  return state, address[1], address[2]
end

function orderForm(key)
  local state, city, zip = pickAddress()
  return wrk.format("POST", "/orders",
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    quantities() ..
    "&name=Ada+Lovelace&email=ada%40example.com&address=12+Analytical+Way" ..
    "&city=" .. city:gsub(" ", "+") .. "&state=" .. state .. "&zip=" .. zip ..
    "&idempotencyKey=" .. key)
end
