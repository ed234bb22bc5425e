-- Shared helpers, inlined into each script at build time (--@include "common").
local rcall = redis.call

-- Authoritative time: the Redis server clock, epoch milliseconds. Never the caller's.
local function now_ms()
  local t = rcall('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Integers up to 10^15 are exact in Lua doubles; format them without exponent notation. '%d' (a C long here)
-- rather than '%.0f': every number formatted is a whole one, and the integer path skips C's float formatting,
-- which was a visible share of the script's time.
local function fmt(n)
  return string.format('%d', n)
end

local function is_null(v)
  return v == nil or v == cjson.null or v == ''
end

-- The state hash's values in STATE_FIELDS order: the fields HMGET names below, codec.ts's STATE_FIELDS in the same
-- order (a test holds the two together). Replies carry these values, never the names: half the strings of
-- HGETALL's field, value pairs. A field the hash lacks (written before it existed, as leaderMax before proxy bids)
-- reads as ''. nil when there is no hash: every hash hydrate writes has an id.
-- Written out, not built from a list: in Redis's Lua every table and string a call builds costs instructions and
-- garbage-collector work (callgrind), so the scripts build few.
local function state_values(key)
  local v = rcall('HMGET', key, 'id', 'postId', 'creatorId', 'currency', 'startAt', 'endAt', 'effectiveEndAt',
    'startPrice', 'increment', 'softClose', 'status', 'currentPrice', 'currentWinnerId', 'version', 'bidCount',
    'extensionCount', 'createdAt', 'closedAt', 'reservePrice', 'buyNowPrice', 'buyNowPolicy', 'leaderMax')
  if not v[1] then return nil end
  for i = 2, 22 do
    if not v[i] then v[i] = '' end
  end
  return v
end

-- The state as a table (field names as in AuctionState), with the numbers the scripts compute with decoded: the
-- nullable ones (reservePrice, buyNowPrice, leaderMax) decode '' to nil. endAt and createdAt stay strings (no script
-- reads them). Also returns the values as read, for a reply that carries the state.
local function load_state(key)
  local v = state_values(key)
  if not v then return nil end
  local s = {
    id = v[1], postId = v[2], creatorId = v[3], currency = v[4], startAt = tonumber(v[5]), endAt = v[6],
    effectiveEndAt = tonumber(v[7]), startPrice = tonumber(v[8]), increment = v[9], softClose = v[10], status = v[11],
    currentPrice = tonumber(v[12]), currentWinnerId = v[13], version = tonumber(v[14]), bidCount = tonumber(v[15]),
    extensionCount = tonumber(v[16]), createdAt = v[17], closedAt = v[18], reservePrice = tonumber(v[19]),
    buyNowPrice = tonumber(v[20]), buyNowPolicy = v[21], leaderMax = tonumber(v[22]),
  }
  return s, v
end

-- The increment that applies at `price` (fixed or tiered by current price), as core's incrementAt.
local function increment_at(rule, price)
  if rule.type == 'fixed' then return rule.amount end
  local step = rule.tiers[1].increment
  for _, tier in ipairs(rule.tiers) do
    if tier.from > price then break end
    step = tier.increment
  end
  return step
end

local function min_next_bid(s, rule)
  if s.currentWinnerId == '' then return s.startPrice end
  return s.currentPrice + increment_at(rule, s.currentPrice)
end

-- The leader's maximum (core's leaderMaximum): nil when nobody leads, the current price for a plain leader.
local function leader_maximum(s)
  if s.currentWinnerId == '' then return nil end
  return s.leaderMax or s.currentPrice
end

-- core's isReserveMet: someone leads at or above the reserve (with no reserve: anyone leads).
local function is_reserve_met(s)
  return s.currentWinnerId ~= '' and (s.reservePrice == nil or s.currentPrice >= s.reservePrice)
end

-- core's isBuyNowAvailable (open status aside).
local function is_buy_now_available(s)
  if s.buyNowPrice == nil or s.status == 'ended' or s.status == 'cancelled' then return false end
  if s.buyNowPolicy == 'reserve-met' then return not is_reserve_met(s) end
  return s.bidCount == 0
end

-- core's publicReserveMet / publicBuyNow as reply fields: '' for null (no reserve / never offered), else '1'/'0'.
local function public_reserve_met(s)
  if s.reservePrice == nil then return '' end
  return is_reserve_met(s) and '1' or '0'
end
local function public_buy_now(s)
  if s.buyNowPrice == nil then return '' end
  return is_buy_now_available(s) and '1' or '0'
end

-- A nullable number as a hash value: '' for nil.
local function fmt_null(n)
  if n == nil then return '' end
  return fmt(n)
end

-- '<n>:' for a string length n. Short lengths (nearly all) are built from bytes: a number concatenated as it is
-- is formatted as a float ('%.14g'), and even string.format costs several times string.char here (callgrind).
local str_char, math_floor = string.char, math.floor
local function length_prefix(n)
  if n < 10 then return str_char(48 + n, 58) end
  if n < 100 then return str_char(48 + math_floor(n / 10), 48 + n % 10, 58) end
  return fmt(n) .. ':'
end

-- A stored answer: the fingerprint and the 15 decision fields, each length-prefixed (ids may contain any
-- character). One concatenation: one new string, not one per field.
local function pack_answer(fingerprint, d)
  local p = length_prefix
  return p(#fingerprint) .. fingerprint .. p(#d[1]) .. d[1] .. p(#d[2]) .. d[2] .. p(#d[3]) .. d[3] .. p(#d[4]) .. d[4]
    .. p(#d[5]) .. d[5] .. p(#d[6]) .. d[6] .. p(#d[7]) .. d[7] .. p(#d[8]) .. d[8] .. p(#d[9]) .. d[9]
    .. p(#d[10]) .. d[10] .. p(#d[11]) .. d[11] .. p(#d[12]) .. d[12] .. p(#d[13]) .. d[13] .. p(#d[14]) .. d[14]
    .. p(#d[15]) .. d[15]
end
