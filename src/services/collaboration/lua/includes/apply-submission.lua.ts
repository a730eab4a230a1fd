import { DEDUPE_CLIENTS_MAX, DEDUPE_WINDOW } from '../../dedupe-bounds';

/**
 * Lua helpers that apply one op message to a document: read it from an
 * argument list, dedupe it, stage its ops, append it to the history. Used by
 * apply-6 (submissions in ARGV) and by the ordering worker's take script
 * (submissions read from queued jobs). Needs COMMON_LUA and JSON_OBJECT_LUA;
 * touches KEYS[2] state, KEYS[3] history and KEYS[4] dedupe.
 *
 * Dedupe record of a client (a field of KEYS[4]): `cseq seq cseq seq ...`,
 * its most recent applied op messages, oldest first, at most DEDUPE_WINDOW
 * pairs. A resent cseq inside the window is answered with its real seq; an
 * older one with 0 (applied once, seq unknown). The hash keeps at most
 * DEDUPE_CLIENTS_MAX clients: past that, the clients whose last op is the
 * oldest are forgotten, down to three quarters of the bound.
 */

export const APPLY_SUBMISSION_LUA = String.raw`
local DEDUPE_WINDOW, DEDUPE_CLIENTS_MAX = ${DEDUPE_WINDOW}, ${DEDUPE_CLIENTS_MAX}

-- One submission in the layout of apply-6's ARGV, from list t at index a:
-- client, cseq, ops JSON, number of ops, then the ops. Returns the fields
-- and the index after it.
local function read_submission(t, a)
  local client, cseq_text, ops_json, op_count = t[a], t[a + 1], t[a + 2], tonumber(t[a + 3])
  a = a + 4
  local ops = {}
  for o = 1, op_count do
    local op = { kind = t[a], field = t[a + 1] }
    a = a + 2
    if op.kind == 'set' then
      op.value = t[a]
      a = a + 1
    elseif op.kind == 'patch' then
      local n = tonumber(t[a])
      a = a + 1
      op.keys, op.values = {}, {}
      for f = 1, n do
        op.keys[f], op.values[f] = t[a], t[a + 1]
        a = a + 2
      end
    end
    ops[o] = op
  end
  return client, cseq_text, ops_json, ops, a
end

-- The (cseq, seq) pairs of a dedupe record, oldest first.
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

-- Applies one submission after seq. Returns kind, value, detail, new seq:
-- 'applied', seq, '' | 'duplicate', seq or 0, '' | 'rejected', op index, patched JSON.
local function apply_submission(client, cseq_text, ops_json, ops, seq, max_bytes, max_depth, history_len)
  local cseq = tonumber(cseq_text)
  local record = redis.call('HGET', KEYS[4], client)
  local known = dedupe_pairs(record)
  local last = known[#known]
  if last and cseq <= last[1] then
    for i = #known, 1, -1 do
      if known[i][1] == cseq then return 'duplicate', tonumber(known[i][2]), '', seq end
    end
    return 'duplicate', 0, '', seq
  end

  -- Stage the final text of every entity the message touches (false: deleted),
  -- so that a refusal at the last op changes nothing.
  local staged, order = {}, {}
  for o = 1, #ops do
    local op = ops[o]
    local before = staged[op.field]
    if before == nil then before = redis.call('HGET', KEYS[2], op.field) end
    local entity = nil
    if op.kind == 'set' then
      entity = op.value
    elseif op.kind == 'del' then
      entity = false
    elseif before then
      entity = patched_json(before, op.keys, op.values)
      if #entity > max_bytes or depth_of(entity) > max_depth then
        return 'rejected', o - 1, entity, seq
      end
    end
    if entity ~= nil then
      if staged[op.field] == nil then order[#order + 1] = op.field end
      staged[op.field] = entity
    end
  end

  seq = seq + 1
  local seq_text = int(seq)
  redis.call('XADD', KEYS[3], 'MAXLEN', history_len, '0-' .. seq_text,
    'client', client, 'cseq', cseq_text, 'ops', ops_json)
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
  return 'applied', seq, '', seq
end
`;
