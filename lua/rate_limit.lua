--[[
  rate_limit: a per-user fixed window shared by every server instance, handed out in small leases.

  KEYS[1]  the user's counter   outbid:{rl:<userId>}:bids

  ARGV[1]  limit       integer: requests allowed per window
  ARGV[2]  window ms   integer
  ARGV[3]  wanted      integer ≥ 1: tokens the caller would like at once (it spends the rest in process)

  Returns: { granted, ms until the window resets }. granted is 1..wanted while the window has room (as many as
  it has, at most wanted); 0 when it is spent, and the ms are then the caller's Retry-After.
]]
--@include "common"

local key, limit, window, wanted = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local used = tonumber(rcall('GET', key) or '0')
local granted = math.min(wanted, limit - used)
if granted > 0 then
  if rcall('INCRBY', key, granted) == granted then rcall('PEXPIRE', key, window) end
else
  granted = 0
end
local left = rcall('PTTL', key)
if left < 0 then
  rcall('PEXPIRE', key, window)
  left = window
end
return { granted, left }
