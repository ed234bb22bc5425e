--[[
  place_bid: idempotency lookup, bid rules, soft-close extension and state change, in one atomic step.
  Implements exactly packages/core/src/rules/place-bid.ts (same check order, same reasons).

  KEYS[1]  auction state hash        outbid:{a:<id>}:state
  KEYS[2]  idempotency records hash  outbid:{a:<id>}:idem   (field: <bidderId length>:<bidderId><key>)

  ARGV[1]  bidderId          string
  ARGV[2]  amount            string, minor units as sent (may be invalid: "10.5", "-1", "1e16")
  ARGV[3]  bidId             string, chosen by the caller
  ARGV[4]  idempotency field string, '' when the request has no Idempotency-Key
  ARGV[5]  fingerprint       string, canonical payload of the request
  ARGV[6]  idempotency TTL   integer ms: records live until effective end + this (never shortened)

  Returns (array):
    {'H'}                                  auction not in Redis: hydrate from the ledger and retry
    {'R', packedDecision}                  replay: the stored first answer for this key
    {'K', decisionFields...}               key reused with another payload (IDEMPOTENCY_KEY_REUSED), nothing stored
    {'D', previousEndAt, decisionFields..., stateFlat...}  a fresh decision; stateFlat (HGETALL of the new state)
                                           only when accepted
  decisionFields = status, reason ('' for none), bidId, minNextBid, auctionStatus, currentPrice,
                   currentWinnerId ('' for none), version, endAt, extended ('1'/'0'), decidedAt
  packedDecision = fingerprint followed by decisionFields, length-prefixed (see pack()).
]]
--@include "common"

local state_key, idem_key = KEYS[1], KEYS[2]
local bidder, amount_arg, bid_id, field, fingerprint = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttl = tonumber(ARGV[6])

local s = load_state(state_key)
if not s then return { 'H' } end
local now = now_ms()
local rule = cjson.decode(s.increment)

local function decision(status, reason, extended)
  return {
    status, reason, bid_id, fmt(min_next_bid(s, rule)), s.status, fmt(s.currentPrice), s.currentWinnerId,
    fmt(s.version), fmt(s.effectiveEndAt), extended and '1' or '0', fmt(now),
  }
end

if field ~= '' then
  local stored = rcall('HGET', idem_key, field)
  if stored then
    local flen = tonumber(string.match(stored, '^(%d+):'))
    local stored_fingerprint = string.sub(stored, #tostring(flen) + 2, #tostring(flen) + 1 + flen)
    if stored_fingerprint == fingerprint then return { 'R', stored } end
    local d = decision('invalid', 'IDEMPOTENCY_KEY_REUSED', false)
    table.insert(d, 1, 'K')
    return d
  end
end

-- The checks, in core's order; the first failure decides.
local amount = tonumber(amount_arg)
local reason = nil
if amount == nil or amount ~= amount or amount ~= math.floor(amount) or amount < 1 or amount > 1e15
  -- core's isOutbiddable: a jump must leave room for an answer; the minimum next bid itself is always allowed
  or (amount + increment_at(rule, amount) > 1e15 and amount ~= min_next_bid(s, rule)) then
  reason = 'INVALID_AMOUNT'
elseif s.status == 'cancelled' then
  reason = 'AUCTION_CANCELLED'
elseif s.status == 'ended' or now >= s.effectiveEndAt then
  reason = 'AUCTION_ENDED'
elseif s.status == 'scheduled' and now < s.startAt then
  reason = 'AUCTION_NOT_STARTED'
elseif bidder == s.creatorId then
  reason = 'SELF_BID'
elseif bidder == s.currentWinnerId then
  reason = 'ALREADY_LEADING'
elseif amount < min_next_bid(s, rule) then
  reason = 'BID_TOO_LOW'
end

local previous_end = s.effectiveEndAt
local result
if reason then
  local status = 'rejected'
  if reason == 'INVALID_AMOUNT' then status = 'invalid' elseif reason == 'AUCTION_ENDED' then status = 'late' end
  result = decision(status, reason, false)
else
  -- Soft close: only accepted bids extend (core's extendedEnd).
  local new_end = nil
  if not is_null(s.softClose) then
    local p = cjson.decode(s.softClose)
    local capped = not is_null(p.maxExtensions) and s.extensionCount >= p.maxExtensions
    if s.effectiveEndAt - now <= p.windowMs and not capped then
      local candidate
      if p.mode == 'reset' then candidate = now + p.extendMs else candidate = s.effectiveEndAt + p.extendMs end
      if not is_null(p.hardEndAt) and p.hardEndAt < candidate then candidate = p.hardEndAt end
      if candidate > s.effectiveEndAt then new_end = candidate end
    end
  end
  s.status = 'active'
  s.currentPrice = amount
  s.currentWinnerId = bidder
  s.version = s.version + 1
  s.bidCount = s.bidCount + 1
  if new_end then
    s.effectiveEndAt = new_end
    s.extensionCount = s.extensionCount + 1
  end
  rcall('HSET', state_key, 'status', 'active', 'currentPrice', fmt(amount), 'currentWinnerId', bidder, 'version', fmt(s.version),
    'bidCount', fmt(s.bidCount), 'effectiveEndAt', fmt(s.effectiveEndAt), 'extensionCount', fmt(s.extensionCount))
  result = decision('accepted', '', new_end ~= nil)
end

-- Store the answer (never for invalid input: the corrected retry must run) for as long as a retry can come.
if field ~= '' and result[1] ~= 'invalid' then
  local packed = { fingerprint }
  for i = 1, #result do packed[#packed + 1] = result[i] end
  rcall('HSET', idem_key, field, pack(packed))
  local keep_for = s.effectiveEndAt + ttl - now
  local left = rcall('PTTL', idem_key)
  if left < 0 or left < keep_for then rcall('PEXPIRE', idem_key, fmt(keep_for)) end
end

local reply = { 'D', fmt(previous_end) }
for i = 1, #result do reply[#reply + 1] = result[i] end
if result[1] == 'accepted' then
  local flat = rcall('HGETALL', state_key)
  for i = 1, #flat do reply[#reply + 1] = flat[i] end
end
return reply
