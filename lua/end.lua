--[[
  end: → ended (core's decideEnd). Due: only once Redis TIME reached the effective end; before that the
  answer is "not due, re-arm at T" with the (possibly soft-close-extended) end.

  KEYS[1]  auction state hash        outbid:{a:<id>}:state
  KEYS[2]  idempotency records hash  outbid:{a:<id>}:idem
  ARGV[1]  mode          'due' (the scheduler or guard) | 'now' (the creator seals it at once)
  ARGV[2]  retention ms  how long the sealed state stays in Redis

  Returns (array):
    {'H'}                                            auction not in Redis: hydrate and retry
    {kind, detail, prevStatus, prevEffectiveEndAt, prevStartAt, prevClosedAt, stateValues...}
      kind 'A' applied | 'U' unchanged (already ended) | 'N' not due (detail = effectiveEndAt: re-arm there)
           | 'F' refused (detail = 'AUCTION_CANCELLED')
]]
--@include "common"
--@include "transition"

local state_key, idem_key, mode, retention = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local s = load_state(state_key)
if not s then return { 'H' } end
local now = now_ms()
local prev = snapshot(s)

if s.status == 'ended' then return transition_reply(state_key, 'U', '', prev) end
if s.status == 'cancelled' then return transition_reply(state_key, 'F', 'AUCTION_CANCELLED', prev) end
if mode == 'due' and now < s.effectiveEndAt then return transition_reply(state_key, 'N', fmt(s.effectiveEndAt), prev) end

local end_at = s.effectiveEndAt
if now < end_at then end_at = now end
rcall('HSET', state_key, 'status', 'ended', 'effectiveEndAt', fmt(end_at), 'closedAt', fmt(now), 'version', fmt(s.version + 1))
local reply = transition_reply(state_key, 'A', '', prev)
expire_sealed(state_key, idem_key, retention)
return reply
