-- A recall scope is computed inside Redis, SCOPE_GROUP buckets of one GTIN a call, so that a
-- million packs never travel to Python one by one. KEYS: the recall's member hash of the GTIN,
-- then per bucket its packs, custody events and sightings. ARGV: mode ("count", "list", or
-- "mark" to also add each match to the member hash in the same atomic step as reading it), the
-- filter. Returns the number of matches, their serials joined by newlines ("list" and "mark"),
-- and per match with a custody event or a sighting: serial, pack value, custody event ('' for
-- none), sightings ('' for none).
-- uses: pack_codec, pack_scope_match
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
