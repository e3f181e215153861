-- Sets (or, with an empty value, removes) one field per key to one value. KEYS: hashes.
-- ARGV: the value, then the field of each hash.
local value = ARGV[1]
for i = 1, #KEYS do
  if value == '' then redis.call('HDEL', KEYS[i], ARGV[i + 1])
  else redis.call('HSET', KEYS[i], ARGV[i + 1], value) end
end
return 1
