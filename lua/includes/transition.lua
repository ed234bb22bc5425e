-- Shared by start.lua, end.lua and cancel.lua (--@include "transition"). Needs "common".

-- Reply for a transition: kind, detail (dueAt or refusal reason, '' otherwise), the previous status,
-- effectiveEndAt, startAt and closedAt, then the state hash's values after it (see state_values).
local function transition_reply(state_key, kind, detail, prev)
  local reply = { kind, detail, prev.status, fmt(prev.effectiveEndAt), fmt(prev.startAt), prev.closedAt or '' }
  local values = state_values(state_key)
  for i = 1, #values do reply[6 + i] = values[i] end
  return reply
end

local function snapshot(s)
  return { status = s.status, effectiveEndAt = s.effectiveEndAt, startAt = s.startAt, closedAt = s.closedAt }
end

-- A sealed auction is kept for `retention_ms` more (late retries and reads), then hydrated from the ledger on demand.
local function expire_sealed(state_key, idem_key, retention_ms)
  rcall('PEXPIRE', state_key, retention_ms)
  if rcall('EXISTS', idem_key) == 1 then
    local left = rcall('PTTL', idem_key)
    if left < 0 or left < tonumber(retention_ms) then rcall('PEXPIRE', idem_key, retention_ms) end
  end
end
