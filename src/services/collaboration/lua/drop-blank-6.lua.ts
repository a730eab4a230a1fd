export const DROP_IF_BLANK_LUA = String.raw`
--[[ drop-blank-6: removes a document nobody edited, once its last member left a gateway.

KEYS[1] session hash flow:sessions:{D}   KEYS[2] state hash flow:state:{D}
KEYS[3] history stream flow:history:{D}  KEYS[4] dedupe hash flow:dedupe:{D}
KEYS[5] presence hash flow:presence:{D}  KEYS[6] the document's BullMQ wait list
                                                 flow:q:{D}:ops:wait
ARGV: none

Output: 1 when the session was removed; 0 when there is none, it has an
event (seq > 0), someone's presence is recorded (a member elsewhere), or op
messages wait in its queue. Those were sent by members joined at this
session's epoch: removing it would start the document over in a new epoch
under them, and their ops would be answered from a history they never joined.

The fence key is left to expire: a new claim must never get a token an
earlier claim already had.
]]
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq or tonumber(seq) > 0 then return 0 end
if redis.call('HLEN', KEYS[5]) > 0 then return 0 end
if redis.call('LLEN', KEYS[6]) > 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 1
`;
