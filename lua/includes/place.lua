-- Shared by place_bid.lua and place_bids.lua (--@include "place"). Needs "common" and "transition".

-- One bid decision: the whole of place_bid (see its header for the arguments and the reply). `kept_s`, `kept_read`
-- and `kept_rule` are the state, its values as read and its increment rule that the previous decision of the same
-- script call left unchanged (nil for none): a refusal changes nothing, so the next bid of a batch decides on them
-- without reading and decoding the hash again. Returns the reply, then the same three for the next decision (nil
-- when this one changed the auction or found none). Multiple values, not a table: every table costs (common.lua).
local function place_bid(state_key, idem_key, bidder, amount_arg, bid_id, field, fingerprint, ttl, max_arg, buy_now,
                         retention, kept_s, kept_read, kept_rule)
  local s, read, rule = kept_s, kept_read, kept_rule
  if not s then
    s, read = load_state(state_key)
    if not s then return { 'H' } end
    rule = cjson.decode(s.increment)
  end
  local now = now_ms()

  local has_amount, has_max = amount_arg ~= '', max_arg ~= ''
  local amount = has_amount and tonumber(amount_arg) or nil
  local max = has_max and tonumber(max_arg) or nil
  -- The minimum next bid of the state the bid was placed on.
  local min_next = min_next_bid(s, rule)
  -- What the decision may change, as read: the new state writes a field only where it differs.
  local previous_end, previous_bids, previous_extensions = s.effectiveEndAt, s.bidCount, s.extensionCount

  -- What a refused bid asked for (core's requestedAmount, on the state it was placed on): its amount, the Buy It
  -- Now price, or (maximum only) the minimum next bid, capped at the maximum. The caller's own strings are echoed
  -- verbatim so that even invalid input ("10.5", "NaN") reads back as the number it sent.
  local function requested()
    if has_amount then return amount_arg end
    if buy_now then return fmt(s.buyNowPrice or 0) end
    if not has_max then return fmt(min_next) end
    if max == nil or max ~= max or max < min_next then return max_arg end
    return fmt(min_next)
  end

  -- Indexes into `read` (STATE_FIELDS order, see state_values) of the numbers a decision repeats: unchanged, their
  -- strings as read are reused rather than formatted again.
  local EFFECTIVE_END, PRICE, VERSION = 7, 12, 14

  -- The decision's fields. `changed`: the auction has a new version (price and version are new; the end only when
  -- it moved, which `previous_end` tells). `amount_field` nil: the new price (an accepted bid's amount).
  local function decision(status, reason, extended, amount_field, changed)
    local price, version, end_at = read[PRICE], read[VERSION], read[EFFECTIVE_END]
    if changed then
      price, version = fmt(s.currentPrice), fmt(s.version)
      if s.effectiveEndAt ~= previous_end then end_at = fmt(s.effectiveEndAt) end
    end
    return {
      status, reason, bid_id, fmt(min_next_bid(s, rule)), s.status, price, s.currentWinnerId,
      version, end_at, extended and '1' or '0', fmt(now),
      amount_field or price, max_arg, public_reserve_met(s), public_buy_now(s),
    }
  end

  if field ~= '' then
    local stored = rcall('HGET', idem_key, field)
    if stored then
      local flen = tonumber(string.match(stored, '^(%d+):'))
      local stored_fingerprint = string.sub(stored, #tostring(flen) + 2, #tostring(flen) + 1 + flen)
      if stored_fingerprint == fingerprint then return { 'R', stored }, s, read, rule end
      local d = decision('invalid', 'IDEMPOTENCY_KEY_REUSED', false, requested())
      table.insert(d, 1, 'K')
      return d, s, read, rule
    end
  end

  -- core's isBiddable: a positive integer up to 10^15 that leaves room for an answer (isOutbiddable), or exactly the
  -- minimum next bid. Sums stay below 2^53, so exact.
  local function biddable(v)
    if v == nil or v ~= v or v ~= math.floor(v) or v < 1 or v > 1e15 then return false end
    return v + increment_at(rule, v) <= 1e15 or v == min_next
  end

  -- The checks, in core's order (refusalReason); the first failure decides.
  local reason = nil
  if buy_now then
    if has_amount or has_max then reason = 'INVALID_AMOUNT' end
  elseif not has_amount and not has_max then
    reason = 'INVALID_AMOUNT'
  elseif has_amount and not biddable(amount) then
    reason = 'INVALID_AMOUNT'
  elseif has_max and not biddable(max) then
    reason = 'INVALID_AMOUNT'
  elseif has_amount and has_max and amount > max then
    reason = 'INVALID_AMOUNT'
  end
  local leading = s.currentWinnerId ~= '' and bidder == s.currentWinnerId
  if reason then
    -- decided above
  elseif s.status == 'cancelled' then
    reason = 'AUCTION_CANCELLED'
  elseif s.status == 'ended' or now >= s.effectiveEndAt then
    reason = 'AUCTION_ENDED'
  elseif s.status == 'scheduled' and now < s.startAt then
    reason = 'AUCTION_NOT_STARTED'
  elseif bidder == s.creatorId then
    reason = 'SELF_BID'
  elseif buy_now then
    if not is_buy_now_available(s) then reason = 'BUY_NOW_UNAVAILABLE' end
  elseif leading then
    -- Never against yourself: a leader may only raise their maximum.
    if has_amount or not has_max or max <= leader_maximum(s) then reason = 'ALREADY_LEADING' end
  elseif (amount or max) < min_next then
    -- (With amount <= maximum, a maximum under the minimum means an amount under it too: core's refusalReason.)
    reason = 'BID_TOO_LOW'
  end

  -- Hidden reserve: once the best maximum reaches it, the price jumps to it (core's withReserve).
  local function with_reserve(price, maximum)
    local reserve = s.reservePrice
    if reserve ~= nil and price < reserve and maximum >= reserve then return reserve end
    return price
  end

  -- Soft close (core's extendedEnd): the new effective end after a visible price change now, or nil.
  local function extended_end()
    if is_null(s.softClose) then return nil end
    local p = cjson.decode(s.softClose)
    if s.effectiveEndAt - now > p.windowMs then return nil end
    if not is_null(p.maxExtensions) and s.extensionCount >= p.maxExtensions then return nil end
    local candidate
    if p.mode == 'reset' then candidate = now + p.extendMs else candidate = s.effectiveEndAt + p.extendMs end
    if not is_null(p.hardEndAt) and p.hardEndAt < candidate then candidate = p.hardEndAt end
    if candidate > s.effectiveEndAt then return candidate end
    return nil
  end

  -- The next version (core's successor): the lead, `bids` more visible bids, status active.
  local function advance(price, winner, leader_max, bids)
    s.status = 'active'
    s.currentPrice = price
    s.currentWinnerId = winner
    s.leaderMax = leader_max
    s.version = s.version + 1
    s.bidCount = s.bidCount + bids
  end

  -- A visible price change (a bid, or the leader's automatic answer): one more bid, and soft close applies.
  -- Returns whether the end moved.
  local function visible(price, winner, leader_max)
    local new_end = extended_end()
    advance(price, winner, leader_max, 1)
    if new_end then
      s.effectiveEndAt = new_end
      s.extensionCount = s.extensionCount + 1
    end
    return new_end ~= nil
  end

  local result
  local kind = ''
  if reason then
    local status = 'rejected'
    if reason == 'INVALID_AMOUNT' then status = 'invalid' elseif reason == 'AUCTION_ENDED' then status = 'late' end
    result = decision(status, reason, false, requested())
  elseif buy_now then
    advance(s.buyNowPrice, bidder, nil, 1)
    s.status = 'ended'
    if now < s.effectiveEndAt then s.effectiveEndAt = now end
    s.closedAt = fmt(now)
    kind = 'buy_now'
    result = decision('accepted', '', false, nil, true)
  elseif leading then
    -- The leader raising their maximum: the price moves only to meet the reserve.
    local price = with_reserve(s.currentPrice, max)
    if price == s.currentPrice then
      advance(price, bidder, max, 0)
      kind = 'maximum'
      result = decision('accepted', '', false, nil, true)
    else
      local extended = visible(price, bidder, max)
      kind = 'proxy'
      result = decision('accepted', '', extended, nil, true)
    end
  else
    -- (A bid is at least one minor unit, even where the start price is 0: core's decideBid.)
    local floor = amount or math.max(min_next, 1)
    local reach = max or floor
    local leader_max = leader_maximum(s)
    if leader_max ~= nil and reach <= leader_max then
      -- The standing maximum answers (ties go to the earlier): the least that beats this bid's reach, capped at the
      -- leader's maximum. The bid is refused, but the auction changed: the leader's automatic bid is a new version.
      local answer = math.min(leader_max, reach + increment_at(rule, reach))
      answer = with_reserve(answer, leader_max)
      local asked = requested()
      local extended = visible(answer, s.currentWinnerId, s.leaderMax)
      kind = 'proxy'
      result = decision('rejected', 'OUTBID_BY_PROXY', extended, asked, true)
    else
      -- This bid leads: at its own amount, or (with a maximum) at the least that beats the old leader's maximum,
      -- never under the minimum next bid.
      local proxy_price = floor
      if leader_max ~= nil then
        proxy_price = math.max(min_next, math.min(reach, leader_max + increment_at(rule, leader_max)))
      end
      local price = with_reserve(math.max(floor, proxy_price), reach)
      local extended = visible(price, bidder, max)
      kind = 'bid'
      result = decision('accepted', '', extended, nil, true)
    end
  end

  -- The new state as strings in STATE_FIELDS order: the values as read, with what the new version changed. Only
  -- the changed fields are written (a field the hash lacks reads as '', so '' stays unwritten).
  local state = nil
  if kind ~= '' then
    local v = read
    state = { v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16],
      v[17], v[18], v[19], v[20], v[21], v[22] }
    local changes, n = {}, 0
    local function set(i, name, value)
      if state[i] ~= value then
        state[i] = value
        changes[n + 1] = name
        changes[n + 2] = value
        n = n + 2
      end
    end
    -- The price, version and end as the decision has them.
    set(11, 'status', s.status)
    set(PRICE, 'currentPrice', result[6])
    set(13, 'currentWinnerId', s.currentWinnerId)
    set(VERSION, 'version', result[8])
    set(EFFECTIVE_END, 'effectiveEndAt', result[9])
    if s.bidCount ~= previous_bids then set(15, 'bidCount', fmt(s.bidCount)) end
    if s.extensionCount ~= previous_extensions then set(16, 'extensionCount', fmt(s.extensionCount)) end
    set(22, 'leaderMax', fmt_null(s.leaderMax))
    if kind == 'buy_now' then set(18, 'closedAt', s.closedAt) end
    rcall('HSET', state_key, unpack(changes))
  end

  -- Store the answer (never for invalid input: the corrected retry must run) for as long as a retry can come.
  if field ~= '' and result[1] ~= 'invalid' then
    rcall('HSET', idem_key, field, pack_answer(fingerprint, result))
    local keep_for = s.effectiveEndAt + ttl - now
    local left = rcall('PTTL', idem_key)
    if left < 0 or left < keep_for then rcall('PEXPIRE', idem_key, fmt(keep_for)) end
  end

  local r = result
  local reply
  if state then
    local v = state
    reply = { 'D', read[EFFECTIVE_END], kind, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
      r[13], r[14], r[15], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14],
      v[15], v[16], v[17], v[18], v[19], v[20], v[21], v[22] }
  else
    reply = { 'D', read[EFFECTIVE_END], kind, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
      r[13], r[14], r[15] }
  end
  -- Bought now: sealed, like end.lua (its end job is cancelled, so nothing else would expire it).
  if kind == 'buy_now' then expire_sealed(state_key, idem_key, retention) end
  if kind ~= '' then return reply end
  return reply, s, read, rule
end
