import { APPLY_SUBMISSION_LUA } from './includes/apply-submission.lua';
import { COMMON_LUA } from './includes/common.lua';
import { JSON_OBJECT_LUA } from './includes/json-object.lua';
import { SESSION_LUA } from './includes/session.lua';

/*
 * `#!lua` first: Redis refuses the whole script up front when it is out of
 * memory, instead of failing at a write in the middle of the batch.
 */
export const TAKE_APPLY_LUA =
  String.raw`#!lua
--[[ take-apply-12: an ordering worker's whole turn on one document, atomically:
     claim (or keep) the document, take the oldest waiting jobs of its BullMQ
     queue up to the batch bound, apply their op messages in order by the
     rules of apply-6 (includes/apply-submission), delete the jobs.

KEYS[1] session hash  flow:sessions:{D}    KEYS[2] state hash    flow:state:{D}
KEYS[3] history       flow:history:{D}     KEYS[4] dedupe hash   flow:dedupe:{D}
KEYS[5] presence hash flow:presence:{D}    KEYS[6] fence string  flow:fence:{D}
KEYS[7] claim string  flow:claim:{D}       KEYS[8] wait list     flow:q:{D}:ops:wait
KEYS[9] meta hash     flow:q:{D}:ops:meta  KEYS[10] events stream flow:q:{D}:ops:events
KEYS[11] marker zset  flow:q:{D}:ops:marker KEYS[12] id counter   flow:q:{D}:ops:id
KEYS[13..] the job hashes flow:q:{D}:ops:<id> of the job ids at the end of ARGV, oldest first

ARGV[1] doc id                  ARGV[2] epoch to use if the session is created or moved now
ARGV[3] TTL seconds (0: none)   ARGV[4] history length (exact MAXLEN of the stream)
ARGV[5] max entity bytes        ARGV[6] max entity depth
ARGV[7] owner                   ARGV[8] lease ms of the claim
ARGV[9] batch bound: op messages applied at most (whole jobs; at least one job)
ARGV[10] events stream length   ARGV[11] queue version (both written to the meta hash)
ARGV[12] how many waiting ids to return for the next call
ARGV[13] '1': apply the op messages here; '0': only take them (the caller applies
         them elsewhere: a document state kept in one process's memory)
ARGV[14] max document bytes (DOC_MAX_BYTES)
ARGV[15] '1': a durable document (a document store is configured), '' otherwise
ARGV[16] number of acknowledged points k, then k pairs epoch, seq (as apply-6's ARGV[12]);
         the taken submissions' own points ("e" in the job data) are checked too
Then the job ids, oldest first: the ids the caller expects at the tail of the wait list.

Job data (JSON): { "s": [ { "a": [ submission in apply-6's ARGV layout, all strings ],
                            "e": [ epoch, seq ]? } ] }
A job of the earlier layout { "submissions": [ ... ] } is taken alone (the only job of its
call), returned and not applied: the caller applies it through apply-6.

Output: { status, ... }
  'claimed', ms left of the other owner's claim: another worker holds the document; nothing done
  'missing': the document is durable and has no session (ARGV[13] '1' only); nothing done:
           the caller loads it from the document store (seed-6) and calls again
  'unreadable', job id, why: the oldest waiting job cannot be read (data that is not
           JSON, a malformed op message); nothing done: the caller sets it aside (set-aside-3)
  'taken', fence token, epoch, jobs taken, then their data texts,
           then count, the next waiting ids (oldest first),
           then three items per op message (as apply-6's outcomes; none when ARGV[13] is '0')
Only ids that are at the tail of the wait list, in order, are taken: a call
that declared none (or wrong ones) takes nothing and learns the next ids.
A call that takes nothing leaves the claim as it was. A new claim INCRs the
fence, so an apply-6 caller holding an older token is refused (FENCED).
]]
` +
  COMMON_LUA +
  JSON_OBJECT_LUA +
  SESSION_LUA +
  APPLY_SUBMISSION_LUA +
  String.raw`
local owner, lease = ARGV[7], ARGV[8]
local holder = redis.call('GET', KEYS[7])
if holder and holder ~= owner then
  return { 'claimed', redis.call('PTTL', KEYS[7]) }
end

local durable = ARGV[15] == '1'
if durable and ARGV[13] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'missing' }
end

local points_count = tonumber(ARGV[16])
local ids_at = 16 + 2 * points_count

-- The ids waiting at the tail (the oldest job is the last element).
local declared = #KEYS - 12
local peek = tonumber(ARGV[12])
local tail = redis.call('LRANGE', KEYS[8], -math.max(declared, 1), -1)
local take, jobs, subs = 0, {}, 0
local bound = tonumber(ARGV[9])
-- Every taken job is read and checked here, before anything is written: a
-- script that fails half way keeps its earlier writes (Redis has no rollback).
local function read_job(data)
  local ok, decoded = pcall(cjson.decode, data or '{"s":[]}')
  if not ok or type(decoded) ~= 'table' then return nil, 'its data is not JSON' end
  -- A job of the earlier layout ({"submissions":[...]}, from a gateway of an
  -- older release) is not applied here: the caller applies it.
  if type(decoded.s) ~= 'table' and type(decoded.submissions) == 'table' then
    return { legacy = true, subs = {} }
  end
  local job = { legacy = false, subs = {} }
  for i, sub in ipairs(type(decoded.s) == 'table' and decoded.s or {}) do
    if type(sub) ~= 'table' or type(sub.a) ~= 'table' then return nil, 'op message ' .. i .. ' is malformed' end
    local read = { pcall(read_submission, sub.a, 1) }
    if not read[1] then return nil, 'op message ' .. i .. ': ' .. tostring(read[2]) end
    job.subs[i] = { client = read[2], cseq = read[3], ops_json = read[4], ops = read[5], e = sub.e }
  end
  return job
end

for k = 1, declared do
  local id = tail[#tail - k + 1]
  if id ~= ARGV[ids_at + k] then break end
  local data = redis.call('HGET', KEYS[12 + k], 'data')
  local job, problem = read_job(data)
  -- The oldest job unreadable: nothing is taken; the caller sets it aside.
  if not job and take == 0 then return { 'unreadable', id, problem } end
  if not job then break end
  -- A job of the earlier layout is taken alone (the only job of its call).
  if job.legacy and take > 0 then break end
  if take > 0 and subs + #job.subs > bound then break end
  take = take + 1
  jobs[take] = { data = data or '{"s":[]}', subs = job.subs }
  subs = subs + #job.subs
  if job.legacy then break end
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

-- Every key of the document and its queue expires as key_ttl says (0:
-- never); the claim keeps its lease, the deleted jobs are gone.
local function touch_all()
  local ttl = key_ttl(tonumber(ARGV[3]), durable)
  for k = 1, 12 do
    if k ~= 7 then
      if ttl > 0 then redis.call('EXPIRE', KEYS[k], ttl) else redis.call('PERSIST', KEYS[k]) end
    end
  end
end

if ARGV[13] ~= '1' then
  local out = { 'taken', token, '', take }
  for k = 1, take do out[#out + 1] = jobs[k].data end
  next_ids(out)
  touch_all()
  return out
end

local now = now_ms()
local epoch, seq = ensure_session(ARGV[1], ARGV[2], now, false)
local doc = { seq = seq, bytes = document_bytes() }
local limits = {
  max_bytes = tonumber(ARGV[5]), max_depth = tonumber(ARGV[6]),
  max_doc_bytes = tonumber(ARGV[14]), history_len = ARGV[4],
}

local points = {}
for p = 0, points_count - 1 do points[#points + 1] = { ARGV[17 + 2 * p], ARGV[18 + 2 * p] } end
for k = 1, take do
  for _, sub in ipairs(jobs[k].subs) do
    if type(sub.e) == 'table' and sub.e[1] and sub.e[2] then points[#points + 1] = sub.e end
  end
end
epoch = move_if_lost(epoch, seq, points, ARGV[2], now)

local out = { 'taken', token, epoch, take }
for k = 1, take do out[#out + 1] = jobs[k].data end
next_ids(out)
for k = 1, take do
  for _, sub in ipairs(jobs[k].subs) do
    local kind, value, detail = apply_submission(sub.client, sub.cseq, sub.ops_json, sub.ops, doc, limits)
    out[#out + 1] = kind
    out[#out + 1] = value
    out[#out + 1] = detail
  end
end

finish_batch(doc, seq, now)
touch_all()
return out
`;
