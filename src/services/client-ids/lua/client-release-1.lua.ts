export const CLIENT_RELEASE_LUA = String.raw`
--[[ client-release-1: a connection gives its client id back.

KEYS[1] the client id's hash flow:client:{C} (see client-claim-1)
ARGV[1] holder JSON   ARGV[2] TTL seconds of a released, owned id (0: none)

Output: 1 when released (an id without an owner is removed; an owned one is
        kept for ARGV[2] seconds), 0 when another connection holds it.
]]
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[1], 'user') or '') == '' then return redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'holder', '')
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) else redis.call('PERSIST', KEYS[1]) end
return 1
`;
