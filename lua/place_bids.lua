--[[
  place_bids: several bids on one auction, decided one after another in one script call, each exactly as
  place_bid.lua decides it (the same rules, include "place"), each timed by its own Redis TIME. A bid sees every
  change of the bids before it. The bid engine sends the bids of one auction that arrive together this way: one
  command, one script run and one state read for a run of refusals, instead of one of each per bid.

  KEYS[1]  auction state hash        outbid:{a:<id>}:state
  KEYS[2]  idempotency records hash  outbid:{a:<id>}:idem

  ARGV[1]  n, the number of bids (at least 1)
  ARGV[2]  idempotency TTL ms        as place_bid's ARGV[6]
  ARGV[3]  retention ms              as place_bid's ARGV[9]
  ARGV[4 + 7i .. 10 + 7i]            bid i (0-based): bidderId, amount, bidId, idempotency field, fingerprint,
                                     maxAmount, buyNow: as place_bid's ARGV[1..5], ARGV[7] and ARGV[8]

  Returns (array): n replies, bid i's at i + 1, each exactly what place_bid returns for it (see place_bid.lua).
]]
--@include "common"
--@include "transition"
--@include "place"

local n, ttl, retention = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local replies = {}
-- What each decision leaves unchanged for the next one (see place_bid in includes/place.lua).
local s, read, rule
for i = 0, n - 1 do
  local a = 3 + 7 * i
  replies[i + 1], s, read, rule = place_bid(KEYS[1], KEYS[2], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4],
    ARGV[a + 5], ttl, ARGV[a + 6], ARGV[a + 7] == '1', retention, s, read, rule)
end
return replies
