export const HANDOVER_LUA = String.raw`
--[[ handover-2: a worker that stops gives back a document it held: a mark
     it held for later is due now, and every worker hears of it.

KEYS[1] ready zset  flow:ready:{ready-n}
ARGV[1] doc   ARGV[2] now (ms)   ARGV[3] wake channel   ARGV[4] 'SPUBLISH' or 'PUBLISH'
ARGV[5] the wake message ('!' then the doc id: a hand-over, which no worker skips)

The hand-over goes out whether or not the document is marked: a document
with no mark now (its last turn emptied the queue) is still one the other
workers skip while they think its claim is held, and its next mark's
wake-up would be skipped with it.
Output: 1 when the document had a mark (it has work), else 0.
]]
local marked = 0
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
  marked = 1
end
redis.call(ARGV[4], ARGV[3], ARGV[5])
return marked
`;
