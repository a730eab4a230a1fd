export const CLAIM_RELEASE_LUA = String.raw`
--[[ claim-release-1: a worker gives a document's claim back, only while it still holds it.

KEYS[1] the claim key flow:claim:{D} (a string holding the owner)
ARGV[1] owner

Output: 1 when released, 0 when another worker (or nobody) holds it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
