import { SESSION_LUA } from './includes/session.lua';

export const SAVED_LUA =
  String.raw`#!lua
--[[ saved-7: records that the document store now holds a document up to a seq,
     gives its keys their TTL back when nothing is left unsaved, and releases
     this process's saver lease.

KEYS[1] session hash  KEYS[2] state hash  KEYS[3] history  KEYS[4] dedupe hash
KEYS[5] presence hash KEYS[6] fence hash  KEYS[7] saver lease flow:saver:{D}

ARGV[1] epoch of the stored snapshot   ARGV[2] its seq   ARGV[3] TTL seconds (0: none)
ARGV[4] owner of the lease (released only when it still holds it)

savedSeq only grows within an epoch, and never above the session's seq.
Output: the seq of the session's epoch the store holds now (0 when the session
moved to another epoch or is gone).
]]
` +
  SESSION_LUA +
  String.raw`
if redis.call('GET', KEYS[7]) == ARGV[4] then redis.call('DEL', KEYS[7]) end
local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not s[1] or s[1] ~= ARGV[1] then return 0 end
local seq = math.min(tonumber(ARGV[2]), tonumber(s[2]))
if seq > saved_seq(s[1]) then
  redis.call('HSET', KEYS[1], 'savedEpoch', s[1], 'savedSeq', seq)
end
touch(tonumber(ARGV[3]), true)
return saved_seq(s[1])
`;
