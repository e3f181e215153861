"""The Lua scripts of the pack store: each reads or changes one GTIN's keys atomically, in
the GTIN's cluster slot, and translates between the compact stored pack value and the
expanded one Python reads (:class:`~verinet.recall_status.pack_values.PackValue`).
"""

from __future__ import annotations

from verinet.recall_status.audit import chain_append_lua, chain_link_lua
from verinet.recall_status.pack_values import MAX_SIGHTINGS

#: The stored state numbers: position in this string of ``PackState.stored``. Persisted in every
#: pack value, so append only.
STATE_NUMBERS = "ASDTMFXLCERWI"

# Translates pack values between the stored form (16 x context number + state number, an
# integer Redis stores in a few bytes) and the expanded form <state code><context> scripts
# answer and take. A context is numbered once per GTIN (ctx:{G} -> number, ctxid:{G} number ->
# context) and never changes, so a script caches both directions. A stored value that is not a
# number is an expanded one written before contexts were interned: it is read as it is and
# compacted at its next write. The interning keys share the bucket's hash tag, so its slot.
# A script gets the GTIN's contexts once (contexts_of any key of the GTIN), then translates
# each pack with a table lookup: stored values repeat (a few contexts, a few states).
PACK_CODEC_LUA = r"""
local STATE_NUMBERS = '""" + STATE_NUMBERS + r"""'
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
"""

# Applies decided changes to a chunk of one GTIN's packs, each only if the pack is as it was
# read, together with its audit entry; each entry carries the hash of the one before it (SHA-1
# is what Redis scripts offer; the chain is re-verified outside Redis by `verinet audit verify`).
# KEYS: audit stream, audit head, then per change its bucket and decommission hashes. ARGV: per
# change serial, expected value, new value, decommission ('' to clear), audit entry. Returns
# 1 (applied) or 0 (the pack changed since it was read) per change, in order.
APPLY_CHANGES_SCRIPT = PACK_CODEC_LUA + r"""
local applied = {}
local contexts = contexts_of(KEYS[1])
local previous = redis.call('GET', KEYS[2]) or ''
local head = previous
for i = 0, (#KEYS - 2) / 2 - 1 do
  local bucket, decommissions = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local serial, entry = ARGV[1 + 5 * i], ARGV[5 + 5 * i]
  if expand(contexts, redis.call('HGET', bucket, serial)) ~= ARGV[2 + 5 * i] then
    applied[i + 1] = 0
  else
    redis.call('HSET', bucket, serial, compact(contexts, ARGV[3 + 5 * i]))
    if ARGV[4 + 5 * i] == '' then
      redis.call('HDEL', decommissions, serial)
    else
      redis.call('HSET', decommissions, serial, ARGV[4 + 5 * i])
    end
""" + chain_link_lua("KEYS[1]", "entry") + """
    previous = hash
    applied[i + 1] = 1
  end
end
if previous ~= head then redis.call('SET', KEYS[2], previous) end
return applied
"""

# Sets one field of a product- or lot-level hash and appends the audit entry, atomically;
# answers 0 when the field already holds the value (nothing to do, nothing audited).
SET_LEVEL_STATE_SCRIPT = r"""
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
""" + chain_append_lua("KEYS[2]", "KEYS[3]", "ARGV[3]") + "return 1\n"

# A pack value's lot, line and commissioning minute, and the filters of a recall scope
# ("<line>US<first minute>US<end minute>[US<lot>...]", empty for any) matched against them.
_SCOPE_MATCH_LUA = r"""
local function pack_fields(value)
  local sep = string.find(value, '\31', 8, true)
  if not sep then return string.sub(value, 8), '', 0 end
  local sep2 = string.find(value, '\31', sep + 1, true) or (#value + 1)
  return string.sub(value, 8, sep - 1), string.sub(value, sep + 1, sep2 - 1), tonumber(string.sub(value, sep2 + 1), 16) or 0
end
local function parse_rule(text)
  local parts = {}
  for part in string.gmatch(text .. '\31', '([^\31]*)\31') do parts[#parts + 1] = part end
  local rule = {line = parts[1], first = tonumber(parts[2]), stop = tonumber(parts[3])}
  if #parts > 3 then
    rule.lots = {}
    for i = 4, #parts do rule.lots[parts[i]] = true end
  end
  return rule
end
local function member_field(bucket_key)
  return string.format('%03x', math.floor(tonumber(string.sub(bucket_key, -4), 16) / 16))
end
local function listed(members, serial)
  local from = 1
  while true do
    local first, last = string.find(members, serial, from, true)
    if not first then return false end
    if (first == 1 or string.byte(members, first - 1) == 10) and (last == #members or string.byte(members, last + 1) == 10) then
      return true
    end
    from = first + 1
  end
end
local function rule_matches(rule, lot, line, minute)
  if rule.lots and not rule.lots[lot] then return false end
  if rule.line ~= '' and line ~= rule.line then return false end
  if rule.first == nil and rule.stop == nil then return true end
  return minute ~= 0 and (rule.first == nil or minute >= rule.first) and (rule.stop == nil or minute < rule.stop)
end
"""

# Reads a chunk of one GTIN's packs. KEYS: product, lot states. ARGV: "1" to read decommissions,
# then the packs as lines "<bucket, 4 hex><serial>" (one argument: a few thousand separate ones
# cost the caller more to encode than the reads cost Redis); each pack's bucket, unit-recall and
# decommission keys are made here from the GTIN's hash tag, so they are in its slot.
# Returns product state, owner, the lot states (flat), then per pack value, recalled, decommission.
# A pack is recalled one by one (its unit-recall field), by its lot (lot states), or by a recall
# rule it matches when the recall's member list of its bucket names it; the rule and member
# keys are not declared (they depend on the rules) but share the GTIN's hash tag, so its slot.
STATUS_SCRIPT = PACK_CODEC_LUA + _SCOPE_MATCH_LUA + r"""
local product = redis.call('HMGET', KEYS[1], 'state', 'owner')
local out = {product[1], product[2], redis.call('HGETALL', KEYS[2])}
local with_decommission = ARGV[1] == '1'
local contexts = contexts_of(KEYS[1])
local tag = contexts.tag
local rules = nil
local rule_flat = redis.call('HGETALL', 'rcrule:' .. tag)
if #rule_flat > 0 then
  rules = {}
  for i = 1, #rule_flat, 2 do
    rules[#rules + 1] = {'rcs:' .. tag .. ':' .. string.match(rule_flat[i], '^[^:]+'), parse_rule(rule_flat[i + 1])}
  end
end
local packs, recalls, decommissions = 'pk:' .. tag .. ':', 'pr:' .. tag .. ':', 'pd:' .. tag .. ':'
for bucket, serial in string.gmatch(ARGV[2], '(%x%x%x%x)([^\n]+)') do
  local value = expand(contexts, redis.call('HGET', packs .. bucket, serial))
  out[#out + 1] = value
  if value then
    local recalled = redis.call('HEXISTS', recalls .. bucket, serial)
    if recalled == 0 and rules then
      local lot, line, minute = pack_fields(value)
      for _, rule in ipairs(rules) do
        if rule_matches(rule[2], lot, line, minute) then
          local members = redis.call('HGET', rule[1], member_field(bucket))
          if members and listed(members, serial) then
            recalled = 1
            break
          end
        end
      end
    end
    out[#out + 1] = recalled
    out[#out + 1] = with_decommission and redis.call('HGET', decommissions .. bucket, serial) or false
  else
    out[#out + 1] = 0
    out[#out + 1] = false
  end
end
return out
"""

# Records one event of a pack by its record code (see RECORD_CODES): the custody event, the
# attested sighting, and the history entry. Keys are made from the GTIN's hash tag and the
# pack's bucket (4 hex), so they share the slot of the keys a script declares. A sighting is
# "<unix time>|<event>|<partner>|<gln>", as a location; a partner keeps one, its latest.
RECORD_ONE_LUA = r"""
local MAX_SIGHTINGS = """ + str(MAX_SIGHTINGS) + r"""
local function partner_of(place)
  return string.match(place, '^[^|]*|[^|]*|([^|]*)')
end
local function add_sighting(key, serial, place)
  local partner = partner_of(place)
  local kept = {}
  local before = redis.call('HGET', key, serial)
  if before then
    for line in string.gmatch(before, '[^\n]+') do
      if partner_of(line) ~= partner then kept[#kept + 1] = line end
    end
  end
  kept[#kept + 1] = place
  while #kept > MAX_SIGHTINGS do table.remove(kept, 1) end
  redis.call('HSET', key, serial, table.concat(kept, '\n'))
end
local function custodian_of(tag, bucket, serial)
  local custody = redis.call('HGET', 'cus:' .. tag .. ':' .. bucket, serial)
  if custody then return string.match(custody, '^[HT]|([^|]*)') end
  return redis.call('HGET', 'prod:' .. tag, 'owner')
end
local function record_one(tag, bucket, serial, code, place, entry, limit)
  if code == 'C' then
    if custodian_of(tag, bucket, serial) == partner_of(place) then code = 'L' else code = 'P' end
  end
  if code == 'L' then
    redis.call('HSET', 'loc:' .. tag .. ':' .. bucket, serial, place)
    redis.call('HDEL', 'sgt:' .. tag .. ':' .. bucket, serial)
  elseif code == 'P' then
    add_sighting('sgt:' .. tag .. ':' .. bucket, serial, place)
  end
  local history = 'hist:' .. tag .. ':' .. serial
  if redis.call('RPUSH', history, entry) > limit then
    redis.call('LTRIM', history, -limit, -1)
  end
end
"""

# Records events of a chunk of one GTIN's packs. KEYS: the GTIN's product hash (it names the
# slot). ARGV: history limit, then per pack serial, bucket (4 hex), record code, place, entry.
RECORD_EVENTS_SCRIPT = RECORD_ONE_LUA + r"""
local limit = tonumber(ARGV[1])
local tag = string.match(KEYS[1], '{[^}]*}')
for i = 0, (#ARGV - 1) / 5 - 1 do
  local b = 2 + 5 * i
  record_one(tag, ARGV[b + 1], ARGV[b], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], limit)
end
return 1
"""

# The same for a batch of packs seen in one operation: they share the place, and their
# history entries come from a short table. KEYS: the GTIN's product hash (it names the slot; the
# other keys are made here from its hash tag). ARGV: history limit, place, the number of
# entries, the entries, then the packs as lines "<bucket, 4 hex><record code><number of its
# entry, 1-based>US<serial>".
RECORD_EVENT_BATCH_SCRIPT = RECORD_ONE_LUA + r"""
local limit, place, entries = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local tag = string.match(KEYS[1], '{[^}]*}')
for bucket, code, number, serial in string.gmatch(ARGV[4 + entries], '(%x%x%x%x)(%u)(%d+)\31([^\n]+)') do
  record_one(tag, bucket, serial, code, place, ARGV[3 + tonumber(number)], limit)
end
return 1
"""

# A recall scope is computed inside Redis, SCOPE_GROUP buckets of one GTIN a call, so that a
# million packs never travel to Python one by one. KEYS: the recall's member hash of the GTIN,
# then per bucket its packs, custody events and sightings. ARGV: mode ("count", "list", or
# "mark" to also add each match to the member hash in the same atomic step as reading it), the
# filter. Returns the number of matches, their serials joined by newlines ("list" and "mark"),
# and per match with a custody event or a sighting: serial, pack value, custody event ('' for
# none), sightings ('' for none).
SCOPE_SCRIPT = PACK_CODEC_LUA + _SCOPE_MATCH_LUA + r"""
local mode = ARGV[1]
local rule = parse_rule(ARGV[2])
local contexts = contexts_of(KEYS[1])
local listing, marking = mode ~= 'count', mode == 'mark'
local count, members, located, matched = 0, {}, {}, {}
for b = 2, #KEYS, 3 do
  local packs = redis.call('HGETALL', KEYS[b])
  local seen, sighted = nil, nil
  for i = 1, #packs, 2 do
    local value = expand(contexts, packs[i + 1])
    local lot, line, minute = pack_fields(value)
    if rule_matches(rule, lot, line, minute) then
      local serial = packs[i]
      count = count + 1
      if listing then members[#members + 1] = serial end
      if marking then
        local field = member_field(KEYS[b])
        matched[field] = matched[field] or {}
        table.insert(matched[field], serial)
      end
      if seen == nil then
        seen, sighted = {}, {}
        local flat = redis.call('HGETALL', KEYS[b + 1])
        for j = 1, #flat, 2 do seen[flat[j]] = flat[j + 1] end
        flat = redis.call('HGETALL', KEYS[b + 2])
        for j = 1, #flat, 2 do sighted[flat[j]] = flat[j + 1] end
      end
      local where, sightings = seen[serial], sighted[serial]
      if where or sightings then
        located[#located + 1] = serial
        located[#located + 1] = value
        located[#located + 1] = where or ''
        located[#located + 1] = sightings or ''
      end
    end
  end
end
for field, serials in pairs(matched) do
  local before = redis.call('HGET', KEYS[1], field)
  if before then
    local known = {}
    for serial in string.gmatch(before, '[^\n]+') do known[serial] = true end
    local merged = {before}
    for _, serial in ipairs(serials) do
      if not known[serial] then merged[#merged + 1] = serial end
    end
    if #merged > 1 then redis.call('HSET', KEYS[1], field, table.concat(merged, '\n')) end
  else
    redis.call('HSET', KEYS[1], field, table.concat(serials, '\n'))
  end
end
return {count, table.concat(members, '\n'), located}
"""

# Commissions a chunk of one GTIN's packs. KEYS: the GTIN's two context hashes (they carry its
# hash tag; the bucket keys are made here from it, so they are in the same slot). ARGV: the
# bucket key prefix, the packs as lines "<bucket, 4 hex><context number>US<serial>", then the
# chunk's contexts as expanded values (number n is ARGV[2 + n]). Each context is interned once
# a call, so a pack costs one HSETNX. Returns per pack 1 when stored, else the value already
# there (expanded).
COMMISSION_SCRIPT = PACK_CODEC_LUA + r"""
local prefix = ARGV[1]
local stored = {}
local contexts = contexts_of(KEYS[1])
for n = 3, #ARGV do stored[n - 2] = compact(contexts, ARGV[n]) end
local out = {}
for bucket, number, serial in string.gmatch(ARGV[2], '(%x%x%x%x)(%d+)\31([^\n]+)') do
  local key = prefix .. bucket
  if redis.call('HSETNX', key, serial, stored[tonumber(number)]) == 1 then
    out[#out + 1] = 1
  else
    out[#out + 1] = expand(contexts, redis.call('HGET', key, serial))
  end
end
return out
"""
