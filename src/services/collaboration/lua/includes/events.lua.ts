/** Catch-up from the history stream (ids `0-<seq>`). Needs COMMON_LUA. */
export const EVENTS_LUA = String.raw`
-- The history entries after seq 'after', or nil when not all of them are kept
-- (trimmed), the epoch is another, or 'after' is beyond seq.
local function events_after(history_key, epoch, seq, wanted_epoch, after)
  if wanted_epoch ~= epoch or after > seq then return nil end
  if after == seq then return {} end
  local first = '0-' .. int(after + 1)
  local entries = redis.call('XRANGE', history_key, first, '0-' .. int(seq))
  if #entries ~= seq - after or entries[1][1] ~= first then return nil end
  return entries
end
`;
