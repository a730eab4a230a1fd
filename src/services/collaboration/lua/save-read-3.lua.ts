import { SESSION_LUA } from './includes/session.lua';

export const SAVE_READ_LUA =
  String.raw`#!lua
--[[ save-read-3: the snapshot a process is about to write to the document store,
     read together with the saver lease that makes it the only writer of the
     document until saved-7 (or the lease's end) releases it.

KEYS[1] session hash flow:sessions:{D}   KEYS[2] state hash flow:state:{D}
KEYS[3] saver lease  flow:saver:{D}
ARGV[1] owner (unique per process)       ARGV[2] lease ms

Output: { 'gone' }              the document has no session (nothing to write)
        { 'stored', savedSeq }  the store already holds its latest seq
        { 'busy', ms left }     another process holds the lease (is writing it)
        { 'snapshot', epoch, seq, { field, entity JSON, ... } }  lease taken or renewed
]]
` +
  SESSION_LUA +
  String.raw`
local s = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not s[1] then return { 'gone' } end
local saved = saved_seq(s[1])
if tonumber(s[2]) <= saved then return { 'stored', saved } end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return { 'busy', redis.call('PTTL', KEYS[3]) } end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
return { 'snapshot', s[1], tonumber(s[2]), redis.call('HGETALL', KEYS[2]) }
`;
