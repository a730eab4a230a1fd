export const CLIENT_REFRESH_LUA = String.raw`
--[[ client-refresh-1: extends a client id's record while this connection holds it.

KEYS[1] the client id's hash flow:client:{C} (see client-claim-1)
ARGV[1] holder JSON   ARGV[2] TTL seconds

Output: 1 when extended, 0 when another connection holds the id.
]]
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;
