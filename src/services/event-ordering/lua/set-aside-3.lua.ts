export const SET_ASIDE_LUA = String.raw`
--[[ set-aside-3: moves a job the take script cannot process (it fails on it every
     time) out of the way of the document's later jobs, into BullMQ's failed set,
     where getFailed() and dashboards show it with its reason.

KEYS[1] wait list   flow:q:{D}:ops:wait     KEYS[2] job hash  flow:q:{D}:ops:<id>
KEYS[3] failed zset flow:q:{D}:ops:failed
ARGV[1] job id   ARGV[2] reason   ARGV[3] now (ms)   ARGV[4] TTL seconds of the job and the set (0: none)

Output: the job's data text (as it was), or false when the job is no longer the oldest
waiting one (another worker took or set it aside): nothing changed.
]]
if redis.call('LINDEX', KEYS[1], -1) ~= ARGV[1] then return false end
redis.call('RPOP', KEYS[1])
local data = redis.call('HGET', KEYS[2], 'data') or ''
redis.call('HSET', KEYS[2], 'failedReason', ARGV[2], 'finishedOn', ARGV[3], 'attemptsMade', 1)
-- BullMQ's own reads (getFailed) parse the data: text that is not JSON moves
-- to 'unreadableData' and the data becomes {}.
if not pcall(cjson.decode, data) then
  redis.call('HSET', KEYS[2], 'data', '{}', 'unreadableData', data)
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
return data
`;
