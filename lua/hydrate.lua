--[[
  hydrate: loads an auction's state from the ledger; refuses to overwrite a newer version.

  KEYS[1]  auction state hash        outbid:{a:<id>}:state
  KEYS[2]  idempotency records hash  outbid:{a:<id>}:idem
  ARGV[1]  version of the incoming state (integer)
  ARGV[2]  retention ms: a sealed (ended or cancelled) state expires after this
  ARGV[3..] field, value, field, value, …  the whole state (nulls as '')

  Returns (array):
    {1}                  applied. Same version: the state is replaced, idempotency records kept. Older or absent:
                         replaced and the idempotency records dropped (they may describe versions the ledger never
                         got; the ledger's unique key answers those retries).
    {0, currentVersion}  refused: Redis holds a newer version
]]
--@include "common"

local state_key, idem_key = KEYS[1], KEYS[2]
local incoming = tonumber(ARGV[1])
local current = rcall('HGET', state_key, 'version')
if current and tonumber(current) > incoming then return { 0, current } end
if not current or tonumber(current) < incoming then rcall('DEL', idem_key) end
rcall('DEL', state_key)
local fields = {}
local sealed = false
for i = 3, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  if ARGV[i] == 'status' and (ARGV[i + 1] == 'ended' or ARGV[i + 1] == 'cancelled') then sealed = true end
end
rcall('HSET', state_key, unpack(fields))
if sealed then rcall('PEXPIRE', state_key, ARGV[2]) end
return { 1 }
