-- Reads one field per key. KEYS: hashes. ARGV: the field of each.
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HGET', KEYS[i], ARGV[i]) end
return out
