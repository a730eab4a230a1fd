/** Lua helpers every script may use. */
export const COMMON_LUA = String.raw`
-- A whole number as decimal text (tostring would switch to exponent form).
local function int(n) return string.format('%d', n) end

-- Milliseconds since 1970 by the Redis clock.
local function now_ms()
  local t = redis.call('TIME')
  return int(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
`;
