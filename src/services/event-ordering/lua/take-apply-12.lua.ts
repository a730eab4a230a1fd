import { APPLY_SUBMISSION_LUA } from '../../collaboration/lua/includes/apply-submission.lua';
import { COMMON_LUA } from '../../collaboration/lua/includes/common.lua';
import { JSON_OBJECT_LUA } from '../../collaboration/lua/includes/json-object.lua';

/*
 * `#!lua` first: Redis refuses the whole script up front when it is out of
 * memory, instead of failing at a write in the middle of the batch.
 */
export const TAKE_APPLY_LUA =
  String.raw`#!lua
--[[ take-apply-12: a worker's whole turn on one document, atomically: claim
     (or keep) the document, take the oldest waiting jobs of its BullMQ queue
     up to the batch bound, apply their op messages in order, delete the jobs.

KEYS[1] session hash  flow:sessions:{D}    KEYS[2] state hash    flow:state:{D}
KEYS[3] history       flow:history:{D}     KEYS[4] dedupe hash   flow:dedupe:{D}
KEYS[5] presence hash flow:presence:{D}    KEYS[6] fence string  flow:fence:{D}
KEYS[7] claim string  flow:claim:{D}       KEYS[8] wait list     flow:q:{D}:ops:wait
KEYS[9] meta hash     flow:q:{D}:ops:meta  KEYS[10] events stream flow:q:{D}:ops:events
KEYS[11] marker zset  flow:q:{D}:ops:marker KEYS[12] id counter   flow:q:{D}:ops:id
KEYS[13..] the job hashes flow:q:{D}:ops:<id> of the ids in ARGV[14..], oldest first

ARGV[1] doc id                  ARGV[2] epoch to use if the session is created now
ARGV[3] TTL seconds (0: none)   ARGV[4] history length (exact MAXLEN of the stream)
ARGV[5] max entity bytes        ARGV[6] max entity depth
ARGV[7] owner                   ARGV[8] lease ms of the claim
ARGV[9] batch bound: op messages applied at most (whole jobs; at least one job)
ARGV[10] events stream length   ARGV[11] queue version (both written to the meta hash)
ARGV[12] how many waiting ids to return for the next call
ARGV[13] '1': apply the op messages here; '0': only take them (the caller applies
         them elsewhere: a document state kept in one process's memory)
ARGV[14..] job ids, oldest first: the ids the caller expects at the tail of the wait list

Job data (JSON): { "s": [ { "a": [ submission in apply-6's ARGV layout, all strings ] } ] }

Output: { status, ... }
  'claimed', ms left of the other owner's claim: another worker holds the document; nothing done
  'taken', fence token, epoch, jobs taken, then their data texts,
           then count, the next waiting ids (oldest first),
           then three items per op message (as apply-6's outcomes; none when ARGV[13] is '0')
Only ids that are at the tail of the wait list, in order, are taken: a call
that declared none (or wrong ones) takes nothing and learns the next ids.
A call that takes nothing leaves the claim as it was.
]]
` +
  COMMON_LUA +
  JSON_OBJECT_LUA +
  APPLY_SUBMISSION_LUA +
  String.raw`
local owner, lease = ARGV[7], ARGV[8]
local holder = redis.call('GET', KEYS[7])
if holder and holder ~= owner then
  return { 'claimed', redis.call('PTTL', KEYS[7]) }
end

-- The ids waiting at the tail (the oldest job is the last element).
local declared = #KEYS - 12
local peek = tonumber(ARGV[12])
local tail = redis.call('LRANGE', KEYS[8], -math.max(declared, 1), -1)
local take, jobs, subs = 0, {}, 0
local bound = tonumber(ARGV[9])
for k = 1, declared do
  local id = tail[#tail - k + 1]
  if id ~= ARGV[13 + k] then break end
  local data = redis.call('HGET', KEYS[12 + k], 'data')
  local decoded = data and cjson.decode(data) or { s = {} }
  if take > 0 and subs + #decoded.s > bound then break end
  take = take + 1
  jobs[take] = { data = data or '{"s":[]}', subs = decoded.s }
  subs = subs + #decoded.s
end

local function next_ids(out)
  local ids = redis.call('LRANGE', KEYS[8], -peek, -1)
  out[#out + 1] = #ids
  for i = #ids, 1, -1 do out[#out + 1] = ids[i] end
end

if take == 0 then
  local out = { 'taken', 0, '', 0 }
  next_ids(out)
  return out
end

local token
if holder then
  redis.call('PEXPIRE', KEYS[7], lease)
  token = tonumber(redis.call('GET', KEYS[6]) or '0')
else
  redis.call('SET', KEYS[7], owner, 'PX', lease)
  token = redis.call('INCR', KEYS[6])
end

redis.call('RPOP', KEYS[8], take)
for k = 1, take do redis.call('DEL', KEYS[12 + k]) end
-- BullMQ falls back to a 10,000-entry events stream when the meta hash
-- (which expires with the document) lacks its length.
if redis.call('HGET', KEYS[9], 'opts.maxLenEvents') ~= ARGV[10] then
  redis.call('HSET', KEYS[9], 'opts.maxLenEvents', ARGV[10], 'version', ARGV[11])
end
redis.call('XTRIM', KEYS[10], 'MAXLEN', '~', ARGV[10])

if ARGV[13] ~= '1' then
  local out = { 'taken', token, '', take }
  for k = 1, take do out[#out + 1] = jobs[k].data end
  next_ids(out)
  return out
end

local now = now_ms()
local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local epoch, seq = s[1], tonumber(s[2])
if not epoch then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  epoch, seq = ARGV[2], 0
  redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'epoch', epoch, 'seq', '0', 'createdAt', now, 'updatedAt', now)
end
local first_seq = seq
local max_bytes, max_depth = tonumber(ARGV[5]), tonumber(ARGV[6])

local out = { 'taken', token, epoch, take }
for k = 1, take do out[#out + 1] = jobs[k].data end
next_ids(out)
for k = 1, take do
  for _, sub in ipairs(jobs[k].subs) do
    local client, cseq_text, ops_json, ops = read_submission(sub.a, 1)
    local kind, value, detail
    kind, value, detail, seq = apply_submission(client, cseq_text, ops_json, ops, seq,
      max_bytes, max_depth, ARGV[4])
    out[#out + 1] = kind
    out[#out + 1] = value
    out[#out + 1] = detail
  end
end

if seq ~= first_seq then
  redis.call('HSET', KEYS[1], 'seq', int(seq), 'updatedAt', now)
  prune_dedupe()
end

-- Every key of the document and its queue expires ttl seconds from now
-- (0: never); the claim keeps its lease, the deleted jobs are gone.
local ttl = tonumber(ARGV[3])
for k = 1, 12 do
  if k ~= 7 then
    if ttl > 0 then redis.call('EXPIRE', KEYS[k], ttl) else redis.call('PERSIST', KEYS[k]) end
  end
end
return out
`;
