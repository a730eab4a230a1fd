export const MARK_LUA = String.raw`
--[[ mark-3: a gateway's jobs of one document are in its queue: the document
     is marked ready (due now) and the gateway's intent is done.

KEYS[1] ready zset    flow:ready:{ready-n}    doc -> time (ms) it is due for a worker
KEYS[2] intents zset  flow:intents:{ready-n}  '<gateway> <doc> <first job id>' -> time (ms) it expires
ARGV[1] doc   ARGV[2] intent member   ARGV[3] now (ms)
ARGV[4] wake channel flow:ordering-wake:{ready-n}   ARGV[5] 'SPUBLISH' or 'PUBLISH'
ARGV[6] the id of the first job this gateway just added

Output: 1 when the document was not marked yet (and a wake-up was published), else 0.
The wake-up is '<doc> <mark score> <job id>': a worker takes that job
without first asking which ids wait, and its unmark (hold-2) can compare
with the score it was told. (Document and job ids have no spaces.)
A present mark (perhaps held by a working owner until its lease ends) moves
by 1 ms: the owner's conditional unmark (hold-2) then fails and it looks at
the queue again.
The intent goes last: a script that fails half way keeps what it wrote,
and an intent must not go without its mark.
]]
local fresh = 0
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZINCRBY', KEYS[1], 1, ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  fresh = 1
end
redis.call('ZREM', KEYS[2], ARGV[2])
if fresh == 1 then
  redis.call(ARGV[5], ARGV[4], ARGV[1] .. ' ' .. ARGV[3] .. ' ' .. ARGV[6])
end
return fresh
`;
