import { COMMON_LUA } from './includes/common.lua';
import { JSON_OBJECT_LUA } from './includes/json-object.lua';
import { SESSION_LUA } from './includes/session.lua';

/*
 * The `#!lua` line must come first: it makes Redis (7.0+) refuse the whole
 * script up front when it is out of memory, instead of failing at a write in
 * the middle of the batch.
 */
export const APPLY_LUA =
  String.raw`#!lua
--[[ apply-6: applies op messages of one document in order, each atomically:
     dedupe, ops on the state, next seq, history, dedupe record; one fence check.

KEYS[1] session hash  flow:sessions:{D}   KEYS[2] state hash     flow:state:{D}
KEYS[3] history       flow:history:{D}    KEYS[4] dedupe hash    flow:dedupe:{D}
KEYS[5] presence hash flow:presence:{D}   KEYS[6] fence string   flow:fence:{D}

ARGV[1] doc id                  ARGV[2] epoch to use if the session is created now
ARGV[3] TTL seconds (0: none)   ARGV[4] history length (exact MAXLEN of the stream)
ARGV[5] max entity bytes        ARGV[6] max entity depth
ARGV[7] fence token, '' for no fence check    ARGV[8] fence owner (for the error only)
ARGV[9] max document bytes (DOC_MAX_BYTES, the state as JSON)
ARGV[10] number of submissions, then for each:
  client, cseq (decimal text), ops JSON (kept in the history), number of ops,
  then for each op: 'set', field, value JSON
                  | 'del', field
                  | 'patch', field, n, then n pairs (key as JSON string, value JSON or '' for null)
  where field is coll .. '/' .. id.

Output: { epoch, then three items per submission }
  'applied',   seq,                   ''
  'duplicate', seq of that cseq or 0 for an older (unknown) one, ''
  'rejected',  index of the refused op, the JSON the patch would have made
  'too_large', the size the document would have had (bytes as JSON), ''

Document size: the session hash keeps 'bytes' (the state's JSON length minus
one, 0 when empty) and 'count:<coll>' (entities per collection), kept in
step by every apply; a session without them (older data) gets them computed
once from the state.
Error reply 'FENCED ...': KEYS[6] holds a newer token than ARGV[7]; nothing applied.
]]
` +
  COMMON_LUA +
  JSON_OBJECT_LUA +
  SESSION_LUA +
  String.raw`
local max_bytes, max_depth = tonumber(ARGV[5]), tonumber(ARGV[6])
local max_doc_bytes = tonumber(ARGV[9])

-- The JSON of a state is '{' .. collections .. '}', each '"coll":{' .. entities
-- .. '}', each entity '"id":' .. json, with commas between: every entity costs
-- its id, its JSON and 4 bytes, every collection its name and 5 bytes, and the
-- whole one byte more (2 when empty).
local function split_field(field)
  local slash = string.find(field, '/', 1, true)
  return string.sub(field, 1, slash - 1), #field - slash
end

local function document_bytes()
  local bytes = redis.call('HGET', KEYS[1], 'bytes')
  if bytes then return tonumber(bytes) end
  local flat, total, counts = redis.call('HGETALL', KEYS[2]), 0, {}
  for i = 1, #flat, 2 do
    local coll, id_len = split_field(flat[i])
    total = total + id_len + #flat[i + 1] + 4
    counts[coll] = (counts[coll] or 0) + 1
  end
  for coll, n in pairs(counts) do
    total = total + #coll + 5
    redis.call('HSET', KEYS[1], 'count:' .. coll, n)
  end
  redis.call('HSET', KEYS[1], 'bytes', total)
  return total
end

-- Fencing: KEYS[6] holds the latest claim's token (the ordering worker
-- INCRs it at every claim). A caller with an older token lost its claim and
-- is refused before anything is written; a newer token is recorded, so that
-- the next claim's INCR outnumbers it even after the key expired.
if ARGV[7] ~= '' then
  local token = tonumber(ARGV[7])
  local held = redis.call('GET', KEYS[6])
  if held and tonumber(held) > token then
    return redis.error_reply('FENCED claim ' .. ARGV[7] .. ' of ' .. ARGV[8] ..
      ' is stale: the document was claimed again (fence ' .. held .. ')')
  end
  if not held or tonumber(held) < token then redis.call('SET', KEYS[6], ARGV[7]) end
end

local now = now_ms()
local epoch, seq = ensure_session(ARGV[1], ARGV[2], now)
local first_seq = seq
local doc_bytes = document_bytes()
local out = { epoch }
local a = 11

for _ = 1, tonumber(ARGV[10]) do
  local client, cseq_text, ops_json, op_count = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  a = a + 4
  local ops = {}
  for o = 1, op_count do
    local op = { kind = ARGV[a], field = ARGV[a + 1] }
    a = a + 2
    if op.kind == 'set' then
      op.value = ARGV[a]
      a = a + 1
    elseif op.kind == 'patch' then
      local n = tonumber(ARGV[a])
      a = a + 1
      op.keys, op.values = {}, {}
      for f = 1, n do
        op.keys[f], op.values[f] = ARGV[a], ARGV[a + 1]
        a = a + 2
      end
    end
    ops[o] = op
  end

  local cseq = tonumber(cseq_text)
  local last = redis.call('HGET', KEYS[4], client)
  local last_cseq, last_seq
  if last then
    local space = string.find(last, ' ', 1, true)
    last_cseq, last_seq = tonumber(string.sub(last, 1, space - 1)), tonumber(string.sub(last, space + 1))
  end

  if last and cseq <= last_cseq then
    out[#out + 1] = 'duplicate'
    out[#out + 1] = (cseq == last_cseq) and last_seq or 0
    out[#out + 1] = ''
  else
    -- Stage the final text of every entity the message touches (false: deleted),
    -- so that a refusal at the last op changes nothing.
    local staged, order, refused_at, refused_json = {}, {}, nil, nil
    local original = {}
    for o = 1, #ops do
      local op = ops[o]
      local before = staged[op.field]
      if before == nil then
        before = redis.call('HGET', KEYS[2], op.field)
        if original[op.field] == nil then original[op.field] = before end
      end
      local entity = nil
      if op.kind == 'set' then
        entity = op.value
      elseif op.kind == 'del' then
        entity = false
      elseif before then
        entity = patched_json(before, op.keys, op.values)
        if #entity > max_bytes or depth_of(entity) > max_depth then
          refused_at, refused_json = o - 1, entity
          break
        end
      end
      if entity ~= nil then
        if staged[op.field] == nil then order[#order + 1] = op.field end
        staged[op.field] = entity
      end
    end

    local delta, count_changes = 0, {}
    if not refused_at then
      for _, field in ipairs(order) do
        local before, after = original[field], staged[field]
        local coll, id_len = split_field(field)
        if before then delta = delta - (id_len + #before + 4) end
        if after then delta = delta + (id_len + #after + 4) end
        local change = (after and 1 or 0) - (before and 1 or 0)
        if change ~= 0 then count_changes[coll] = (count_changes[coll] or 0) + change end
      end
      for coll, change in pairs(count_changes) do
        local n = tonumber(redis.call('HGET', KEYS[1], 'count:' .. coll) or '0')
        count_changes[coll] = { n, n + change }
        if n == 0 and n + change > 0 then delta = delta + #coll + 5 end
        if n > 0 and n + change == 0 then delta = delta - (#coll + 5) end
      end
    end

    if refused_at then
      out[#out + 1] = 'rejected'
      out[#out + 1] = refused_at
      out[#out + 1] = refused_json
    elseif delta > 0 and 1 + doc_bytes + delta > max_doc_bytes then
      out[#out + 1] = 'too_large'
      out[#out + 1] = 1 + doc_bytes + delta
      out[#out + 1] = ''
    else
      doc_bytes = doc_bytes + delta
      for coll, n in pairs(count_changes) do
        if n[2] > 0 then
          redis.call('HSET', KEYS[1], 'count:' .. coll, n[2])
        else
          redis.call('HDEL', KEYS[1], 'count:' .. coll)
        end
      end
      seq = seq + 1
      local seq_text = int(seq)
      redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[4], '0-' .. seq_text,
        'client', client, 'cseq', cseq_text, 'ops', ops_json)
      redis.call('HSET', KEYS[4], client, cseq_text .. ' ' .. seq_text)
      for _, field in ipairs(order) do
        if staged[field] then
          redis.call('HSET', KEYS[2], field, staged[field])
        else
          redis.call('HDEL', KEYS[2], field)
        end
      end
      out[#out + 1] = 'applied'
      out[#out + 1] = seq
      out[#out + 1] = ''
    end
  end
end

if seq ~= first_seq then
  redis.call('HSET', KEYS[1], 'seq', int(seq), 'updatedAt', now, 'bytes', doc_bytes)
end
touch(tonumber(ARGV[3]))
return out
`;
