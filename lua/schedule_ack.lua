--[[
  schedule_ack: a worker finished a claimed job; optionally due again later (soft close moved the end).

  KEYS[1]  due jobs sorted set     outbid:{sched:<n>}:due
  KEYS[2]  leased jobs sorted set  outbid:{sched:<n>}:lease

  ARGV[1]  member      '<kind>|<auctionId>'
  ARGV[2]  rearm at    integer ms, or '' when the job is done

  Returns: 1 when the lease was held, 0 when it had expired (another worker may have it: harmless, ends are fenced).
]]
--@include "common"

local due_key, lease_key, member, rearm_at = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local held = rcall('ZREM', lease_key, member)
if rearm_at ~= '' then
  -- Never pull an entry armed meanwhile for an earlier time later: keep the sooner one.
  local existing = rcall('ZSCORE', due_key, member)
  if not existing or tonumber(existing) > tonumber(rearm_at) then rcall('ZADD', due_key, rearm_at, member) end
end
return held
