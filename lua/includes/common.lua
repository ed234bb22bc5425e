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

-- The state hash as a table with numbers decoded. Field names match AuctionState. The nullable numbers
-- (reservePrice, buyNowPrice, leaderMax) are '' for null, or absent in a hash written before they existed:
-- both decode to nil. buyNowPolicy stays a string ('' or absent for none).
local NUMERIC = {
  'startAt', 'endAt', 'effectiveEndAt', 'startPrice', 'currentPrice', 'version', 'bidCount', 'extensionCount', 'createdAt',
  'reservePrice', 'buyNowPrice', 'leaderMax',
}
-- Also returns the hash as read (HGETALL's field, value list), for a reply that carries the state.
local function load_state(key)
  local flat = rcall('HGETALL', key)
  if #flat == 0 then return nil end
  local s = {}
  for i = 1, #flat, 2 do s[flat[i]] = flat[i + 1] end
  for _, f in ipairs(NUMERIC) do s[f] = tonumber(s[f]) end
  return s, flat
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

-- Length-prefixed packing of a list of strings (ids may contain any character).
local function pack(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = #v .. ':' .. v end
  return table.concat(out)
end
