import { APPLY_SUBMISSION_LUA } from './includes/apply-submission.lua';
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

ARGV[1] doc id                  ARGV[2] epoch to use if the session is created or moved now
ARGV[3] TTL seconds (0: none)   ARGV[4] history length (exact MAXLEN of the stream)
ARGV[5] max entity bytes        ARGV[6] max entity depth
ARGV[7] fence token, '' for no fence check    ARGV[8] fence owner (for the error only)
ARGV[9] max document bytes (DOC_MAX_BYTES, the state as JSON)
ARGV[10] number of submissions
ARGV[11] '1': a durable document (a document store is configured), '' otherwise
ARGV[12] number of acknowledged points k, then k pairs: epoch, seq (decimal text): seqs the
  caller saw acknowledged. A session of that epoch below that seq lost acknowledged writes
  (a failover to a lagging replica): it moves to the epoch ARGV[2] first, at the seq it has.
Then for each submission:
  client, cseq (decimal text), ops JSON (kept in the history), number of ops,
  then for each op: 'set', field, value JSON
                  | 'del', field
                  | 'patch', field, n, then n pairs (key as JSON string, value JSON or '' for null)
  where field is coll .. '/' .. id.

Output: { epoch, then three items per submission }, or { 'missing' } when a durable
document has no session (nothing applied: load it from the store with seed-6, then retry)
  'applied',   seq,                   ''
  'duplicate', seq of that cseq (kept for the client's last 32 op messages) or 0, ''
  'rejected',  index of the refused op, the JSON the patch would have made
  'too_large', the size the document would have had (bytes as JSON), ''

Dedupe records, document size accounting and the epoch move: see
includes/apply-submission (shared with take-apply-12).
Error reply 'FENCED ...': KEYS[6] holds a newer token than ARGV[7]; nothing applied.
]]
` +
  COMMON_LUA +
  JSON_OBJECT_LUA +
  SESSION_LUA +
  APPLY_SUBMISSION_LUA +
  String.raw`
local limits = {
  max_bytes = tonumber(ARGV[5]), max_depth = tonumber(ARGV[6]),
  max_doc_bytes = tonumber(ARGV[9]), history_len = ARGV[4],
}

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
local durable = ARGV[11] == '1'
local epoch, seq = ensure_session(ARGV[1], ARGV[2], now, durable)
if not epoch then return { 'missing' } end
local doc = { seq = seq, bytes = document_bytes() }

local points_count = tonumber(ARGV[12])
local points = {}
for p = 0, points_count - 1 do points[p + 1] = { ARGV[13 + 2 * p], ARGV[14 + 2 * p] } end
epoch = move_if_lost(epoch, seq, points, ARGV[2], now)

local out = { epoch }
local a = 13 + 2 * points_count

for _ = 1, tonumber(ARGV[10]) do
  local client, cseq_text, ops_json, ops
  client, cseq_text, ops_json, ops, a = read_submission(ARGV, a)
  local kind, value, detail = apply_submission(client, cseq_text, ops_json, ops, doc, limits)
  out[#out + 1] = kind
  out[#out + 1] = value
  out[#out + 1] = detail
end

finish_batch(doc, seq, now)
touch(tonumber(ARGV[3]), durable)
return out
`;
