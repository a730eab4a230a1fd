export const SWEEP_LUA = String.raw`
--[[ sweep-2: intents whose gateway never confirmed them in time (killed
     between its add and its mark, or the mark failed) become ready marks, so
     whatever it added is found like any other work.

KEYS[1] ready zset    flow:ready:{ready-n}
KEYS[2] intents zset  flow:intents:{ready-n}  '<gateway> <doc>' -> time (ms) it expires
ARGV[1] now (ms)   ARGV[2] at most this many intents

Output: the documents marked.
]]
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local docs = {}
for _, member in ipairs(expired) do
  local doc = string.sub(member, string.find(member, ' ', 1, true) + 1)
  redis.call('ZADD', KEYS[1], 'NX', ARGV[1], doc)
  redis.call('ZREM', KEYS[2], member)
  docs[#docs + 1] = doc
end
return docs
`;
