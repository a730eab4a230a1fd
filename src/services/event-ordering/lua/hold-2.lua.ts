export const HOLD_LUA = String.raw`
--[[ hold-2 / unmark: the ready mark of a document a worker is working on.

KEYS[1] ready zset  flow:ready:{ready-n}
ARGV[1] doc   ARGV[2] 'hold' or 'unmark'   ARGV[3] score (ms)

'hold':   a present mark becomes due at ARGV[3] (the end of the worker's
          lease): pollers leave it alone while the worker lives. 1 when the
          document was marked, 0 when not (nothing to do).
'unmark': removes the mark if it still has the score the worker last saw
          (ARGV[3]: the score it wrote with 'hold', or the one its wake-up or
          poll told it). 1: removed. 0: the mark moved, so work came after
          the worker's last look (a gateway that marks a marked document
          moves its score, mark-3). 2: no mark at all: nothing announced
          waits (a gateway adding now marks afresh, which wakes a worker).
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[2] == 'hold' then
  if not score then return 0 end
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
  return 1
end
if not score then return 2 end
if tonumber(score) == tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
`;
