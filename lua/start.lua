--[[
  start: scheduled → active (core's decideStart).

  KEYS[1]  auction state hash   outbid:{a:<id>}:state
  ARGV[1]  mode   'due' (the scheduler, at startAt) | 'now' (the creator, early)

  Returns (array):
    {'H'}                                            auction not in Redis: hydrate and retry
    {kind, detail, prevStatus, prevEffectiveEndAt, prevStartAt, prevClosedAt, stateValues...}
      kind 'A' applied (version + 1) | 'U' unchanged (already active) | 'N' not due (detail = startAt)
           | 'F' refused (detail = 'AUCTION_ENDED' or 'AUCTION_CANCELLED')
]]
--@include "common"
--@include "transition"

local state_key, mode = KEYS[1], ARGV[1]
local s = load_state(state_key)
if not s then return { 'H' } end
local now = now_ms()
local prev = snapshot(s)

if s.status == 'cancelled' then return transition_reply(state_key, 'F', 'AUCTION_CANCELLED', prev) end
if s.status == 'ended' or now >= s.effectiveEndAt then return transition_reply(state_key, 'F', 'AUCTION_ENDED', prev) end
if s.status == 'active' then return transition_reply(state_key, 'U', '', prev) end
if mode == 'due' and now < s.startAt then return transition_reply(state_key, 'N', fmt(s.startAt), prev) end

local start_at = s.startAt
if now < start_at then start_at = now end
rcall('HSET', state_key, 'status', 'active', 'startAt', fmt(start_at), 'version', fmt(s.version + 1))
return transition_reply(state_key, 'A', '', prev)
