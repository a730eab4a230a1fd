export const LEASE_RELEASE_LUA = String.raw`
--[[ lease-release-1: gives a lease back, only when its owner still holds it.

KEYS[1] the lease key   ARGV[1] owner

Output: 1 when it was removed, 0 when another owner (or nobody) held it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
