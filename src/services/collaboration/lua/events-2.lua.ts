import { COMMON_LUA } from './includes/common.lua';
import { EVENTS_LUA } from './includes/events.lua';

export const EVENTS_AFTER_LUA =
  String.raw`#!lua flags=no-writes
--[[ events-2: the events of a document after a seq, read atomically with its session.

KEYS[1] session hash flow:sessions:{D}   KEYS[2] history stream flow:history:{D}
ARGV[1] epoch   ARGV[2] seq after which events are wanted

Output: { 'events', { {id, {field, value, ...}}, ... } }, or { 'gone' } when the
        document has no session, the epoch differs, the seq is beyond the
        document's, or some of the events are no longer kept.
]]
` +
  COMMON_LUA +
  EVENTS_LUA +
  String.raw`
local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not s[1] then return { 'gone' } end
local events = events_after(KEYS[2], s[1], tonumber(s[2]), ARGV[1], tonumber(ARGV[2]))
if not events then return { 'gone' } end
return { 'events', events }
`;
