/**
 * Lua helpers that work on the JSON text of an entity without decoding it.
 *
 * Redis's cjson would round numbers to 14 digits and cannot tell `[]` from
 * `{}`, so entities are never decoded in Lua. Every entity text is compact
 * JSON produced by `JSON.stringify` (a `set` value, a patch field) or joined
 * from such pieces by `patched_json`, so its byte length is exactly what
 * `jsonBytes` measures in src/protocol/validate.ts.
 */
export const JSON_OBJECT_LUA = String.raw`
-- Index of the quote that closes the JSON string opening at index quote.
local function string_end(json, quote)
  local pos = quote + 1
  while true do
    local i = string.find(json, '["\\]', pos)
    if string.byte(json, i) == 34 then return i end
    pos = i + 2
  end
end

-- The members of a JSON object, in order: raw keys (quoted) and raw values.
local function members(json)
  local keys, values = {}, {}
  local pos = 2
  while true do
    local q = string.find(json, '["}]', pos)
    if string.byte(json, q) == 125 then break end
    local key_end = string_end(json, q)
    local value_start = string.find(json, ':', key_end + 1, true) + 1
    local level, p, stop = 0, value_start, nil
    while true do
      local c = string.find(json, '[%[%]{}",]', p)
      local b = string.byte(json, c)
      if b == 34 then
        p = string_end(json, c) + 1
      elseif b == 123 or b == 91 then
        level = level + 1
        p = c + 1
      elseif level > 0 then
        if b == 125 or b == 93 then level = level - 1 end
        p = c + 1
      else
        stop = c
        break
      end
    end
    keys[#keys + 1] = string.sub(json, q, key_end)
    values[#values + 1] = string.sub(json, value_start, stop - 1)
    if string.byte(json, stop) == 125 then break end
    pos = stop + 1
  end
  return keys, values
end

-- Shallow merge of fields into the entity: an empty value removes the field.
local function patched_json(json, field_keys, field_values)
  local keys, values = members(json)
  local index = {}
  for k = 1, #keys do index[keys[k]] = k end
  for f = 1, #field_keys do
    local key, value = field_keys[f], field_values[f]
    local at = index[key]
    if value == '' then
      if at then values[at] = false end
    elseif at then
      values[at] = value
    else
      keys[#keys + 1] = key
      values[#keys] = value
      index[key] = #keys
    end
  end
  local parts = {}
  for k = 1, #keys do
    if values[k] then parts[#parts + 1] = keys[k] .. ':' .. values[k] end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- Nesting depth of a JSON text: every object or array counts one level.
local function depth_of(json)
  local level, deepest, p = 0, 0, 1
  while true do
    local c = string.find(json, '[%[%]{}"]', p)
    if not c then return deepest end
    local b = string.byte(json, c)
    if b == 34 then
      p = string_end(json, c) + 1
    else
      if b == 123 or b == 91 then
        level = level + 1
        if level > deepest then deepest = level end
      else
        level = level - 1
      end
      p = c + 1
    end
  end
end
`;
