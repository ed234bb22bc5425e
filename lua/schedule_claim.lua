--[[
  schedule_claim: hands due jobs of one shard to one worker with a lease; re-queues expired leases first
  (a worker that died before acknowledging).

  KEYS[1]  due jobs sorted set     outbid:{sched:<n>}:due    member '<kind>|<auctionId>', score = due time (ms)
  KEYS[2]  leased jobs sorted set  outbid:{sched:<n>}:lease  member as above, score = lease deadline (ms)

  ARGV[1]  lease ms    integer: how long the worker has before the job is delivered again
  ARGV[2]  limit       integer: at most this many jobs

  Returns (array): member, dueAt, member, dueAt, … (dueAt as a string of ms), oldest first; {} when none is due.
]]
--@include "common"

local due_key, lease_key = KEYS[1], KEYS[2]
local lease_ms, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()

-- Expired leases go back to the due set, due now.
local expired = rcall('ZRANGEBYSCORE', lease_key, '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(expired) do
  rcall('ZREM', lease_key, member)
  if not rcall('ZSCORE', due_key, member) then rcall('ZADD', due_key, now, member) end
end

local due = rcall('ZRANGEBYSCORE', due_key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
local out = {}
for i = 1, #due, 2 do
  local member = due[i]
  rcall('ZREM', due_key, member)
  rcall('ZADD', lease_key, now + lease_ms, member)
  out[#out + 1] = member
  out[#out + 1] = due[i + 1]
end
return out
