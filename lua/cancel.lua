--[[
  cancel: → cancelled, only before the end (core's decideCancel).

  KEYS[1]  auction state hash        outbid:{a:<id>}:state
  KEYS[2]  idempotency records hash  outbid:{a:<id>}:idem
  ARGV[1]  retention ms  how long the sealed state stays in Redis

  Returns (array):
    {'H'}                                            auction not in Redis: hydrate and retry
    {kind, detail, prevStatus, prevEffectiveEndAt, prevStartAt, prevClosedAt, stateValues...}
      kind 'A' applied | 'U' unchanged (already cancelled) | 'F' refused (detail = 'AUCTION_ENDED')
]]
--@include "common"
--@include "transition"

local state_key, idem_key, retention = KEYS[1], KEYS[2], ARGV[1]
local s = load_state(state_key)
if not s then return { 'H' } end
local now = now_ms()
local prev = snapshot(s)

if s.status == 'cancelled' then return transition_reply(state_key, 'U', '', prev) end
if s.status == 'ended' or now >= s.effectiveEndAt then return transition_reply(state_key, 'F', 'AUCTION_ENDED', prev) end

local end_at = s.effectiveEndAt
if now < end_at then end_at = now end
rcall('HSET', state_key, 'status', 'cancelled', 'effectiveEndAt', fmt(end_at), 'closedAt', fmt(now), 'version', fmt(s.version + 1))
local reply = transition_reply(state_key, 'A', '', prev)
expire_sealed(state_key, idem_key, retention)
return reply
