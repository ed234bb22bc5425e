-- Shared helpers, inlined into each script at build time (--@include "common").
local rcall = redis.call

-- Authoritative time: the Redis server clock, epoch milliseconds. Never the caller's.
local function now_ms()
  local t = rcall('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Integers up to 10^15 are exact in Lua doubles; format them without exponent notation.
local function fmt(n)
  return string.format('%.0f', n)
end

local function is_null(v)
  return v == nil or v == cjson.null or v == ''
end

-- The state hash as a table with numbers decoded. Field names match AuctionState.
local NUMERIC = { 'startAt', 'endAt', 'effectiveEndAt', 'startPrice', 'currentPrice', 'version', 'bidCount', 'extensionCount', 'createdAt' }
local function load_state(key)
  local flat = rcall('HGETALL', key)
  if #flat == 0 then return nil end
  local s = {}
  for i = 1, #flat, 2 do s[flat[i]] = flat[i + 1] end
  for _, f in ipairs(NUMERIC) do s[f] = tonumber(s[f]) end
  return s
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

-- Length-prefixed packing of a list of strings (ids may contain any character).
local function pack(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = #v .. ':' .. v end
  return table.concat(out)
end
