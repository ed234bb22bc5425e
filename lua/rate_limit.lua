--[[
  rate_limit: a per-user fixed window shared by every server instance.

  KEYS[1]  the user's counter   outbid:{rl:<userId>}:bids

  ARGV[1]  limit       integer: requests allowed per window
  ARGV[2]  window ms   integer

  Returns: 0 when allowed, else the milliseconds until the window resets (the caller's Retry-After).
]]
--@include "common"

local key, limit, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local count = rcall('INCR', key)
if count == 1 then rcall('PEXPIRE', key, window) end
if count <= limit then return 0 end
local left = rcall('PTTL', key)
if left < 0 then
  rcall('PEXPIRE', key, window)
  left = window
end
return left
