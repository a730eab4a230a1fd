export const SWEEP_LUA = String.raw`
--[[ sweep-3: intents whose gateway never confirmed them in time (killed
     between its add and its mark, or the mark failed) become ready marks, so
     whatever it added is found like any other work.

KEYS[1] ready zset    flow:ready:{ready-n}
KEYS[2] intents zset  flow:intents:{ready-n}  '<gateway> <doc> <first job id>' -> time (ms) it expires
ARGV[1] now (ms)   ARGV[2] at most this many intents

An intent names its batch's first job, so that a batch's late mark (mark-3
sent again after NOSCRIPT, say) removes its own intent and never the next
batch's. An intent of an earlier release, '<gateway> <doc>', is read too.
Output: the documents marked.
]]
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local docs = {}
for _, member in ipairs(expired) do
  local doc = string.match(member, '^%S+ (%S+)')
  if doc then
    redis.call('ZADD', KEYS[1], 'NX', ARGV[1], doc)
    docs[#docs + 1] = doc
  end
  redis.call('ZREM', KEYS[2], member)
end
return docs
`;
