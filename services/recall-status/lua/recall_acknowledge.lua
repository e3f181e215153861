-- Records a holder's acknowledgement: its first time is kept, its action is the latest.
-- KEYS: the ack hash. ARGV: per unit its field, then time and action (shared).
local at, action = ARGV[#ARGV - 1], ARGV[#ARGV]
for i = 1, #ARGV - 2 do
  local before = redis.call('HGET', KEYS[1], ARGV[i])
  local first = before and string.match(before, '^[^|]*') or at
  redis.call('HSET', KEYS[1], ARGV[i], first .. '|' .. action)
end
return 1
