--[[
  hydrate: loads an auction's state from the ledger, with its idempotency records; refuses to overwrite a newer version.

  KEYS[1]  auction state hash        outbid:{a:<id>}:state
  KEYS[2]  idempotency records hash  outbid:{a:<id>}:idem
  ARGV[1]  version of the incoming state (integer)
  ARGV[2]  retention ms: a sealed (ended or cancelled) state expires after this
  ARGV[3]  idempotency TTL ms: records live until the effective end + this (as in place_bid)
  ARGV[4]  n, the number of state arguments that follow
  ARGV[5 .. 4+n]    field, value, field, value, …  the whole state (nulls as '')
  ARGV[5+n ..]      idempotency field, packed answer, …  the ledger's records for this auction (see place_bid)

  Returns (array):
    {1}                  applied. Same version: the state is replaced, the records Redis holds are kept and the
                         ledger's are added. Older or absent: replaced, and the idempotency records replaced by the
                         ledger's (Redis's may describe versions the ledger never got).
    {0, currentVersion}  refused: Redis holds a newer version
]]
--@include "common"

local state_key, idem_key = KEYS[1], KEYS[2]
local incoming = tonumber(ARGV[1])
local current = rcall('HGET', state_key, 'version')
if current and tonumber(current) > incoming then return { 0, current } end
if not current or tonumber(current) < incoming then rcall('DEL', idem_key) end
rcall('DEL', state_key)
local n = tonumber(ARGV[4])
local fields = {}
local sealed = false
local effective_end = 0
for i = 5, 4 + n, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  if ARGV[i] == 'status' and (ARGV[i + 1] == 'ended' or ARGV[i + 1] == 'cancelled') then sealed = true end
  if ARGV[i] == 'effectiveEndAt' then effective_end = tonumber(ARGV[i + 1]) end
end
rcall('HSET', state_key, unpack(fields))
if sealed then rcall('PEXPIRE', state_key, ARGV[2]) end

-- One HSETNX per record: no unpack() of an argument list that may exceed Lua's stack for a long auction.
local records = 0
for i = 5 + n, #ARGV, 2 do
  records = records + rcall('HSETNX', idem_key, ARGV[i], ARGV[i + 1])
end
if records > 0 then
  local keep_for = effective_end + tonumber(ARGV[3]) - now_ms()
  -- Past its retention already (a long-sealed auction loaded again): keep them as long as the sealed state.
  if keep_for <= 0 then keep_for = tonumber(ARGV[2]) end
  local left = rcall('PTTL', idem_key)
  if left < 0 or left < keep_for then rcall('PEXPIRE', idem_key, fmt(keep_for)) end
end
return { 1 }
