import { COMMON_LUA } from './includes/common.lua';
import { SESSION_LUA } from './includes/session.lua';

export const SEED_LUA =
  String.raw`#!lua
--[[ seed-6: starts a durable document's session from its stored snapshot, unless
     a session exists already (another process seeded it first, or it was edited).

KEYS[1] session hash  KEYS[2] state hash  KEYS[3] history  KEYS[4] dedupe hash
KEYS[5] presence hash KEYS[6] fence hash          (all flow:*:{D})

ARGV[1] doc id   ARGV[2] epoch   ARGV[3] seq (0 for a document the store does not have)
ARGV[4] TTL seconds (0: none)
ARGV[5..] the state: field, entity JSON, field, entity JSON, ... (field = coll .. '/' .. id)

The store holds everything up to seq: savedEpoch and savedSeq say so. History and
dedupe records start empty (clients behind the stored seq get a snapshot).
Output: 1 when the session was created, 0 when one existed (nothing changed).
]]
` +
  COMMON_LUA +
  SESSION_LUA +
  String.raw`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = now_ms()
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'epoch', ARGV[2], 'seq', ARGV[3],
  'savedEpoch', ARGV[2], 'savedSeq', ARGV[3], 'createdAt', now, 'updatedAt', now)
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
touch(tonumber(ARGV[4]), true)
return 1
`;
