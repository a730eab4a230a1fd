export const FIND_OP_LUA = String.raw`#!lua flags=no-writes
--[[ find-op-3: the records that tell what became of one op message, read atomically.

KEYS[1] session hash flow:sessions:{D}   KEYS[2] history stream flow:history:{D}
KEYS[3] dedupe hash flow:dedupe:{D}
ARGV[1] submitter: the client id, or client id TAB user with authentication

Output: { epoch, seq, dedupe record ('<cseq> <seq> ...', oldest first, or ''), first kept seq,
          { seq, cseq, seq, cseq, ... } of the client's kept events },
        or {} when the document has no session.
The history is at most HISTORY_LENGTH entries; this runs only for an op whose
answer is overdue.
]]
local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not s[1] then return {} end
local seq = tonumber(s[2])
local last = redis.call('HGET', KEYS[3], ARGV[1]) or ''
local entries = redis.call('XRANGE', KEYS[2], '-', '+')
local first = seq + 1
if #entries > 0 then first = tonumber(string.sub(entries[1][1], 3)) end
local mine = {}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  local client, cseq, user
  for i = 1, #fields, 2 do
    if fields[i] == 'client' then client = fields[i + 1] end
    if fields[i] == 'cseq' then cseq = fields[i + 1] end
    if fields[i] == 'user' then user = fields[i + 1] end
  end
  if user then client = client .. '\t' .. user end
  if client == ARGV[1] then
    mine[#mine + 1] = string.sub(entry[1], 3)
    mine[#mine + 1] = cseq
  end
end
return { s[1], seq, last, first, mine }
`;
