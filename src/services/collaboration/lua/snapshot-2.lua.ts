export const SNAPSHOT_LUA = String.raw`#!lua flags=no-writes
--[[ snapshot-2: a document's state with the seq it is at, read atomically.

KEYS[1] session hash flow:sessions:{D}   KEYS[2] state hash flow:state:{D}
ARGV: none

Output: { epoch, seq, { field, entity JSON, ... } }, or {} when the document has no session.
]]
local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not s[1] then return {} end
return { s[1], tonumber(s[2]), redis.call('HGETALL', KEYS[2]) }
`;
