--[[
  schedule_claim: hands the jobs of one shard that are due (or due within a horizon) to one worker with a lease;
  re-queues expired leases first (a worker that died before acknowledging).

  KEYS[1]  due jobs sorted set     outbid:{sched:<n>}:due    member '<kind>|<auctionId>', score = due time (ms)
  KEYS[2]  leased jobs sorted set  outbid:{sched:<n>}:lease  member as above, score = lease deadline (ms)

  ARGV[1]  lease ms    integer: how long the worker has, from the job's due time, before it is delivered again
  ARGV[2]  limit       integer: at most this many jobs
  ARGV[3]  horizon ms  integer, optional (default 0): also hand out jobs due up to this long from now; the worker
                       holds them on a local timer (the end script still refuses to end anything early)

  Returns (array): redisNow, member, dueAt, member, dueAt, … (times as strings of ms), soonest first;
  {redisNow} when nothing is due.
]]
--@include "common"

local due_key, lease_key = KEYS[1], KEYS[2]
local lease_ms, limit, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3] or '0')
local now = now_ms()

-- Expired leases go back to the due set, due now.
local expired = rcall('ZRANGEBYSCORE', lease_key, '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(expired) do
  rcall('ZREM', lease_key, member)
  if not rcall('ZSCORE', due_key, member) then rcall('ZADD', due_key, now, member) end
end

local due = rcall('ZRANGEBYSCORE', due_key, '-inf', now + horizon, 'WITHSCORES', 'LIMIT', 0, limit)
local out = { fmt(now) }
for i = 1, #due, 2 do
  local member, due_at = due[i], tonumber(due[i + 1])
  rcall('ZREM', due_key, member)
  rcall('ZADD', lease_key, math.max(now, due_at) + lease_ms, member)
  out[#out + 1] = member
  out[#out + 1] = due[i + 1]
end
return out
