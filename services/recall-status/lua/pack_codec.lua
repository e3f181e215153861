-- Translates pack values between the stored form (16 x context number + state number, an
-- integer Redis stores in a few bytes) and the expanded form <state code><context> scripts
-- answer and take. A context is numbered once per GTIN (ctx:{G} -> number, ctxid:{G} number ->
-- context) and never changes, so a script caches both directions. A stored value that is not a
-- number is an expanded one written before contexts were interned: it is read as it is and
-- compacted at its next write. The interning keys share the bucket's hash tag, so its slot.
-- A script gets the GTIN's contexts once (contexts_of any key of the GTIN), then translates
-- each pack with a table lookup: stored values repeat (a few contexts, a few states).
local STATE_NUMBERS = '{{STATE_NUMBERS}}'
local context_cache = {}
local function contexts_of(key)
  local tag = string.match(key, '{[^}]*}')
  local contexts = context_cache[tag]
  if not contexts then
    contexts = {tag = tag, by_number = {}, by_text = {}, expanded = {}, ids = 'ctxid:' .. tag, texts = 'ctx:' .. tag}
    context_cache[tag] = contexts
  end
  return contexts
end
local function expand(contexts, stored)
  if not stored then return stored end
  local known = contexts.expanded[stored]
  if known then return known end
  local first = string.byte(stored, 1)
  if first < 48 or first > 57 then return stored end
  local number = tonumber(stored)
  local state = number % 16
  local id = (number - state) / 16
  local text = contexts.by_number[id]
  if not text then
    text = redis.call('HGET', contexts.ids, string.format('%d', id)) or ''
    contexts.by_number[id] = text
  end
  known = string.sub(STATE_NUMBERS, state + 1, state + 1) .. text
  contexts.expanded[stored] = known
  return known
end
local function compact(contexts, value)
  local text = string.sub(value, 2)
  local id = contexts.by_text[text]
  if not id then
    id = tonumber(redis.call('HGET', contexts.texts, text))
    if not id then
      id = redis.call('HLEN', contexts.ids) + 1
      redis.call('HSET', contexts.ids, string.format('%d', id), text)
      redis.call('HSET', contexts.texts, text, string.format('%d', id))
    end
    contexts.by_text[text] = id
    contexts.by_number[id] = text
  end
  local state = string.find(STATE_NUMBERS, string.sub(value, 1, 1), 1, true)
  if not state then error('unknown pack state ' .. string.sub(value, 1, 1)) end
  return string.format('%d', id * 16 + state - 1)
end
