/**
 * Lua helpers of the scripts that take the six keys of a document in the
 * order of `documentScriptKeys`: KEYS[1] session, KEYS[2] state,
 * KEYS[3] history, KEYS[4] dedupe, KEYS[5] presence, KEYS[6] fence.
 * Needs COMMON_LUA.
 *
 * Durable documents (a document store is configured; the scripts' `durable`
 * argument is '1'): the session hash also keeps savedEpoch and savedSeq, what
 * the store holds. Such a document is never created empty here (a missing
 * session may be a stored document that must be loaded first), and its keys
 * do not expire while its seq is above savedSeq.
 */
export const SESSION_LUA = String.raw`
-- The seq the document store holds of the given epoch (0: none of it).
local function saved_seq(epoch)
  local s = redis.call('HMGET', KEYS[1], 'savedEpoch', 'savedSeq')
  if not s[1] or s[1] ~= epoch then return 0 end
  return tonumber(s[2]) or 0
end

-- The session's epoch and seq, creating it (seq 0, the candidate epoch) when
-- absent: never created, or expired. Keys that outlived the session belong to
-- a lost history and go. Returns epoch, seq, created; or nil when the
-- document is durable and absent: its caller must load it from the store.
local function ensure_session(doc, candidate_epoch, now, durable)
  local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
  if s[1] then return s[1], tonumber(s[2]), false end
  if durable then return nil end
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[1], 'doc', doc, 'epoch', candidate_epoch, 'seq', '0', 'createdAt', now, 'updatedAt', now)
  return candidate_epoch, 0, true
end

-- The TTL the keys get now: ttl seconds (0: none), or none at all while a
-- durable document has events the store does not hold yet, so that the
-- latest edits outlive any TTL until they are stored.
local function key_ttl(ttl, durable)
  if durable and ttl > 0 then
    local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
    if s[1] and tonumber(s[2]) > saved_seq(s[1]) then return 0 end
  end
  return ttl
end

-- The six keys of the document expire as key_ttl says (0: never).
local function touch(ttl, durable)
  ttl = key_ttl(ttl, durable)
  for k = 1, 6 do
    if ttl > 0 then redis.call('EXPIRE', KEYS[k], ttl) else redis.call('PERSIST', KEYS[k]) end
  end
end
`;
