export const CLIENT_CLAIM_LUA = String.raw`
--[[ client-claim-1: a connection takes a client id for a user.

KEYS[1] the client id's hash flow:client:{C}: user (owner, '' for none),
        holder (JSON of the holding connection, '' when released)
ARGV[1] user ('' when authentication is off)   ARGV[2] holder JSON
ARGV[3] TTL seconds (0: none)

Output: { 'refused' } when another user owns the id;
        { 'claimed', previous holder JSON or '' } otherwise.
]]
local owner = redis.call('HGET', KEYS[1], 'user')
if owner and owner ~= '' and owner ~= ARGV[1] then return { 'refused' } end
local previous = redis.call('HGET', KEYS[1], 'holder') or ''
if not owner or owner == '' then owner = ARGV[1] end
redis.call('HSET', KEYS[1], 'user', owner, 'holder', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) else redis.call('PERSIST', KEYS[1]) end
return { 'claimed', previous }
`;
