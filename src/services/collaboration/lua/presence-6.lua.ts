import { SESSION_LUA } from './includes/session.lua';

export const SET_PRESENCE_LUA =
  String.raw`#!lua
--[[ presence-6: stores a client's presence record; presence is activity, so an
     open session's keys get their TTL refreshed (no session is created).

KEYS[1] session hash  KEYS[2] state hash  KEYS[3] history  KEYS[4] dedupe hash
KEYS[5] presence hash KEYS[6] fence hash          (all flow:*:{D})
ARGV[1] client   ARGV[2] presence record JSON   ARGV[3] TTL seconds (0: none)
ARGV[4] '1': a durable document (its unsaved edits keep their keys), '' otherwise

Output: 1
]]
` +
  SESSION_LUA +
  String.raw`
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  touch(ttl, ARGV[4] == '1')
elseif ttl > 0 then
  redis.call('EXPIRE', KEYS[5], ttl)
else
  redis.call('PERSIST', KEYS[5])
end
return 1
`;
