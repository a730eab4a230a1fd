import { DEDUPE_CLIENTS_MAX, DEDUPE_WINDOW } from '../../dedupe-bounds';

/**
 * Lua functions that apply op messages to a document: read one from an
 * argument list, move the document to a new epoch when Redis lost
 * acknowledged writes, dedupe, stage its ops, check the entity and document
 * size limits, append it to the history. Used by apply-6 (submissions in
 * ARGV) and by the ordering worker's take-apply-12 (submissions read from
 * queued jobs), so both paths apply by the same rules. Needs COMMON_LUA and
 * JSON_OBJECT_LUA; touches KEYS[1] session, KEYS[2] state, KEYS[3] history
 * and KEYS[4] dedupe.
 *
 * Submissions name their submitter: the client id, or with authentication
 * the client id, a tab and the user (submitterKey); dedupe records are kept
 * per submitter, so another user presenting the same client id has records
 * of its own.
 *
 * Dedupe record of a submitter (a field of KEYS[4]): `cseq seq cseq seq ...`,
 * its most recent applied op messages, oldest first, at most DEDUPE_WINDOW
 * pairs (older data holds one pair, read the same way). A resent cseq inside
 * the window is answered with its real seq; an older one with 0 (applied
 * once, seq unknown). The hash keeps at most DEDUPE_CLIENTS_MAX clients:
 * past that, the clients whose last op is the oldest are forgotten, down to
 * three quarters of the bound.
 *
 * Document size: the session hash keeps 'bytes' (the state's JSON length
 * minus one, 0 when empty) and 'count:<coll>' (entities per collection), kept
 * in step by every apply; a session without them (older data) gets them
 * computed once from the state.
 */
export const APPLY_SUBMISSION_LUA = String.raw`
local DEDUPE_WINDOW, DEDUPE_CLIENTS_MAX = ${DEDUPE_WINDOW}, ${DEDUPE_CLIENTS_MAX}

-- One submission in the layout of apply-6's ARGV, from list t at index a:
-- client, cseq, ops JSON, number of ops, then the ops. Returns the fields
-- and the index after it. Raises an error on a malformed one (a queued job
-- is checked with pcall before anything is written: a script that fails
-- after a write leaves that write in place).
local function read_submission(t, a)
  local client, cseq_text, ops_json, op_count = t[a], t[a + 1], t[a + 2], tonumber(t[a + 3])
  if type(client) ~= 'string' or not tonumber(cseq_text) or type(ops_json) ~= 'string'
    or not op_count then
    error('malformed op message', 0)
  end
  a = a + 4
  local ops = {}
  for o = 1, op_count do
    local op = { kind = t[a], field = t[a + 1] }
    if type(op.field) ~= 'string' then error('malformed op ' .. o, 0) end
    a = a + 2
    if op.kind == 'set' then
      op.value = t[a]
      if type(op.value) ~= 'string' then error('malformed set op ' .. o, 0) end
      a = a + 1
    elseif op.kind == 'patch' then
      local n = tonumber(t[a])
      if not n then error('malformed patch op ' .. o, 0) end
      a = a + 1
      op.keys, op.values = {}, {}
      for f = 1, n do
        op.keys[f], op.values[f] = t[a], t[a + 1]
        if type(op.keys[f]) ~= 'string' or type(op.values[f]) ~= 'string' then
          error('malformed patch op ' .. o, 0)
        end
        a = a + 2
      end
    elseif op.kind ~= 'del' then
      error('unknown op kind in op ' .. o, 0)
    end
    ops[o] = op
  end
  return client, cseq_text, ops_json, ops, a
end

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

-- A history that went back: the seqs it lost were acknowledged with other ops.
-- Going on in the same epoch would give them to new ops, and two different ops
-- would share an (epoch, seq); a new epoch makes every client resync from a
-- snapshot. points: list of { epoch, seq } seen acknowledged. Returns the epoch.
local function move_if_lost(epoch, seq, points, new_epoch, now)
  for _, point in ipairs(points) do
    if epoch == point[1] and seq < tonumber(point[2]) then
      redis.call('HSET', KEYS[1], 'epoch', new_epoch, 'updatedAt', now)
      return new_epoch
    end
  end
  return epoch
end

-- The (cseq, seq) pairs of a dedupe record, oldest first: { cseq number, seq text, cseq text }.
local function dedupe_pairs(record)
  local pairs_ = {}
  if record then
    for c, s in string.gmatch(record, '(%d+) (%d+)') do
      pairs_[#pairs_ + 1] = { tonumber(c), s, c }
    end
  end
  return pairs_
end

-- Forgets the clients whose last op is the oldest once the hash passes its bound.
local function prune_dedupe()
  if redis.call('HLEN', KEYS[4]) <= DEDUPE_CLIENTS_MAX then return end
  local flat = redis.call('HGETALL', KEYS[4])
  local clients = {}
  for i = 1, #flat, 2 do
    local last = string.match(flat[i + 1], '(%d+)$')
    clients[#clients + 1] = { flat[i], tonumber(last) or 0 }
  end
  table.sort(clients, function(x, y) return x[2] < y[2] end)
  local keep = math.floor(DEDUPE_CLIENTS_MAX * 3 / 4)
  for i = 1, #clients - keep do redis.call('HDEL', KEYS[4], clients[i][1]) end
end

-- Applies one submission after doc.seq, where doc = { seq, bytes } is updated
-- in place and limits = { max_bytes, max_depth, max_doc_bytes, history_len }.
-- Returns kind, value, detail:
--   'applied', seq, '' | 'duplicate', seq or 0, '' | 'rejected', op index, patched JSON
--   | 'too_large', the size the document would have had, ''
local function apply_submission(client, cseq_text, ops_json, ops, doc, limits)
  local cseq = tonumber(cseq_text)
  local known = dedupe_pairs(redis.call('HGET', KEYS[4], client))
  local last = known[#known]
  if last and cseq <= last[1] then
    for i = #known, 1, -1 do
      if known[i][1] == cseq then return 'duplicate', tonumber(known[i][2]), '' end
    end
    return 'duplicate', 0, ''
  end

  -- Stage the final text of every entity the message touches (false: deleted),
  -- so that a refusal at the last op changes nothing.
  local staged, order, original = {}, {}, {}
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
      if #entity > limits.max_bytes or depth_of(entity) > limits.max_depth then
        return 'rejected', o - 1, entity
      end
    end
    if entity ~= nil then
      if staged[op.field] == nil then order[#order + 1] = op.field end
      staged[op.field] = entity
    end
  end

  local delta, count_changes = 0, {}
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
  if delta > 0 and 1 + doc.bytes + delta > limits.max_doc_bytes then
    return 'too_large', 1 + doc.bytes + delta, ''
  end

  doc.bytes = doc.bytes + delta
  for coll, n in pairs(count_changes) do
    if n[2] > 0 then
      redis.call('HSET', KEYS[1], 'count:' .. coll, n[2])
    else
      redis.call('HDEL', KEYS[1], 'count:' .. coll)
    end
  end
  doc.seq = doc.seq + 1
  local seq_text = int(doc.seq)
  -- The history names the client id; the user, when there is one, rides along
  -- for find-op-3 (events sent to clients carry only client, cseq and ops).
  local tab = string.find(client, '\t', 1, true)
  if tab then
    redis.call('XADD', KEYS[3], 'MAXLEN', limits.history_len, '0-' .. seq_text,
      'client', string.sub(client, 1, tab - 1), 'cseq', cseq_text, 'ops', ops_json,
      'user', string.sub(client, tab + 1))
  else
    redis.call('XADD', KEYS[3], 'MAXLEN', limits.history_len, '0-' .. seq_text,
      'client', client, 'cseq', cseq_text, 'ops', ops_json)
  end
  local window = {}
  for i = math.max(1, #known - DEDUPE_WINDOW + 2), #known do
    window[#window + 1] = known[i][3] .. ' ' .. known[i][2]
  end
  window[#window + 1] = cseq_text .. ' ' .. seq_text
  redis.call('HSET', KEYS[4], client, table.concat(window, ' '))
  for _, field in ipairs(order) do
    if staged[field] then
      redis.call('HSET', KEYS[2], field, staged[field])
    else
      redis.call('HDEL', KEYS[2], field)
    end
  end
  return 'applied', doc.seq, ''
end

-- After a batch: the session records the new seq and size, and the dedupe
-- hash is held to its bound.
local function finish_batch(doc, first_seq, now)
  if doc.seq ~= first_seq then
    redis.call('HSET', KEYS[1], 'seq', int(doc.seq), 'updatedAt', now, 'bytes', doc.bytes)
    prune_dedupe()
  end
end
`;
