-- Records one event of a pack by its record code (see RECORD_CODES): the custody event, the
-- attested sighting, and the history entry. Keys are made from the GTIN's hash tag and the
-- pack's bucket (4 hex), so they share the slot of the keys a script declares. A sighting is
-- "<unix time>|<event>|<partner>|<gln>", as a location; a partner keeps one, its latest.
local MAX_SIGHTINGS = {{MAX_SIGHTINGS}}
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
