-- Appends serials to member lists, in one write. ARGV: field, serials, field, serials, ...
local fields = {}
for i = 1, #ARGV, 2 do fields[#fields + 1] = ARGV[i] end
local current = redis.call('HMGET', KEYS[1], unpack(fields))
local updated = {}
for n = 1, #fields do
  local before = current[n]
  updated[#updated + 1] = fields[n]
  updated[#updated + 1] = (before and before ~= '') and (before .. '\n' .. ARGV[2 * n]) or ARGV[2 * n]
end
return redis.call('HSET', KEYS[1], unpack(updated))
