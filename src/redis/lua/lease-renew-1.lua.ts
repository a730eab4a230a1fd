export const LEASE_RENEW_LUA = String.raw`
--[[ lease-renew-1: keeps a lease its owner holds, or takes it again when it lapsed.

KEYS[1] the lease key (a string holding the owner)
ARGV[1] owner   ARGV[2] lease length, ms

Output: 1 when the owner holds the lease for ARGV[2] ms more; 0 when another owner holds it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] or redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;
