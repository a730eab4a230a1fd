import { COMMON_LUA } from './includes/common.lua';
import { EVENTS_LUA } from './includes/events.lua';
import { SESSION_LUA } from './includes/session.lua';

export const OPEN_LUA =
  String.raw`#!lua
--[[ open-6: opens a document's session (creating it when absent or expired),
     refreshes the TTL of its keys, and returns the catch-up of a joining client.

KEYS[1] session hash  KEYS[2] state hash  KEYS[3] history  KEYS[4] dedupe hash
KEYS[5] presence hash KEYS[6] fence hash          (all flow:*:{D})

ARGV[1] doc id                  ARGV[2] epoch to use if the session is created now
ARGV[3] TTL seconds (0: none)   ARGV[4] epoch of the client's resume point, '' for none
ARGV[5] seq of the client's resume point
ARGV[6] '1': a durable document (a document store is configured), '' otherwise

Output: { epoch, seq, 'events', { {id, {field, value, ...}}, ... }, savedSeq }  when the
        resume point's epoch matches and every event after it is kept;
        { epoch, seq, 'snapshot', { field, entity JSON, ... }, savedSeq }      otherwise;
        { 'missing' } when a durable document has no session: nothing was created, the
        caller loads the document from the store (seed-6) and opens it again.
savedSeq: the highest seq of this epoch the store holds (0 when none).
]]
` +
  COMMON_LUA +
  SESSION_LUA +
  EVENTS_LUA +
  String.raw`
local durable = ARGV[6] == '1'
local epoch, seq = ensure_session(ARGV[1], ARGV[2], now_ms(), durable)
if not epoch then return { 'missing' } end
touch(tonumber(ARGV[3]), durable)
local saved = saved_seq(epoch)
if ARGV[4] ~= '' then
  local events = events_after(KEYS[3], epoch, seq, ARGV[4], tonumber(ARGV[5]))
  if events then return { epoch, seq, 'events', events, saved } end
end
return { epoch, seq, 'snapshot', redis.call('HGETALL', KEYS[2]), saved }
`;
