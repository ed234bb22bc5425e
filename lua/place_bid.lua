--[[
  place_bid: idempotency lookup, bid rules (proxy bids, hidden reserve, Buy It Now), soft-close extension and state
  change, in one atomic step. Implements exactly decideBid in packages/core/src/rules/place-bid.ts (same check order,
  same reasons, same prices); the differential test in packages/adapters/redis holds the two together.

  KEYS[1]  auction state hash        outbid:{a:<id>}:state
  KEYS[2]  idempotency records hash  outbid:{a:<id>}:idem   (field: <bidderId length>:<bidderId><key>)

  ARGV[1]  bidderId          string
  ARGV[2]  amount            string, minor units as sent (may be invalid: "10.5", "-1", "1e16"); '' for none
                             (a maximum-only bid, or Buy It Now)
  ARGV[3]  bidId             string, chosen by the caller
  ARGV[4]  idempotency field string, '' when the request has no Idempotency-Key
  ARGV[5]  fingerprint       string, canonical payload of the request
  ARGV[6]  idempotency TTL   integer ms: records live until effective end + this (never shortened)
  ARGV[7]  maxAmount         string, the bidder's secret maximum as sent (may be invalid); '' for a plain bid
  ARGV[8]  buyNow            '1' Buy It Now (amount and maxAmount must then be ''), else '0'
  ARGV[9]  retention ms      a Buy It Now seals the auction: its state expires after this (as in end.lua)

  Returns (array):
    {'H'}                                  auction not in Redis: hydrate from the ledger and retry
    {'R', packedDecision}                  replay: the stored first answer for this key
    {'K', decisionFields...}               key reused with another payload (IDEMPOTENCY_KEY_REUSED), nothing stored
    {'D', previousEndAt, bidKind, decisionFields..., stateValues...}
                                           a fresh decision. bidKind is what the new version stands for:
                                           'bid' | 'proxy' (the leader's maximum answered, or lifted the price to
                                           the reserve) | 'maximum' (the leader raised a maximum, price unchanged)
                                           | 'buy_now'; '' when nothing changed. stateValues (the new state
                                           hash's values in STATE_FIELDS order, see common.lua) follows
                                           whenever bidKind is not '': every accept, and the OUTBID_BY_PROXY
                                           rejection (the leader's automatic bid is a new version).
  decisionFields = status, reason ('' for none), bidId, minNextBid, auctionStatus, currentPrice,
                   currentWinnerId ('' for none), version, endAt, extended ('1'/'0'), decidedAt,
                   amount, maxAmount ('' for none), reserveMet, buyNowAvailable ('' for null, else '1'/'0')
                   (amount and maxAmount echo the caller's strings verbatim when the decision repeats them)
  packedDecision = fingerprint followed by decisionFields, length-prefixed (see pack()). Records stored before
                   proxy bids existed carry only the first 11 decisionFields (amount was the request's).
]]
--@include "common"
--@include "transition"
--@include "place"

-- (The rules live in includes/place.lua, shared with place_bids.lua; parentheses keep only the reply.)
return (place_bid(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7],
  ARGV[8] == '1', ARGV[9]))
