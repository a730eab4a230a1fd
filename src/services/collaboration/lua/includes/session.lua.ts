/**
 * Lua helpers of the scripts that take the six keys of a document in the
 * order of `documentScriptKeys`: KEYS[1] session, KEYS[2] state,
 * KEYS[3] history, KEYS[4] dedupe, KEYS[5] presence, KEYS[6] fence.
 * Needs COMMON_LUA.
 */
export const SESSION_LUA = String.raw`
-- The session's epoch and seq, creating it (seq 0, the candidate epoch) when
-- absent: never created, or expired. Keys that outlived the session belong to
-- a lost history and go. Returns epoch, seq, created.
local function ensure_session(doc, candidate_epoch, now)
  local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
  if s[1] then return s[1], tonumber(s[2]), false end
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[1], 'doc', doc, 'epoch', candidate_epoch, 'seq', '0', 'createdAt', now, 'updatedAt', now)
  return candidate_epoch, 0, true
end

-- Every key of the document expires ttl seconds from now (0: never).
local function touch(ttl)
  for k = 1, #KEYS do
    if ttl > 0 then redis.call('EXPIRE', KEYS[k], ttl) else redis.call('PERSIST', KEYS[k]) end
  end
end
`;
