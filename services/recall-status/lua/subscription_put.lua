-- Creates or replaces a subscription and keeps the event index in step, refusing an event
-- that another subscription of the partner already carries.
-- KEYS: the partner's subscriptions, then the index of each event in EVENTS order.
-- ARGV: partner, name, subscription JSON, then "1" or "0" per event in EVENTS order.
for i = 2, #KEYS do
  if ARGV[i + 2] == '1' then
    local holder = redis.call('HGET', KEYS[i], ARGV[1])
    if holder and holder ~= ARGV[2] then return {'taken', tostring(i - 1), holder} end
  end
end
local existed = redis.call('HEXISTS', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
for i = 2, #KEYS do
  if ARGV[i + 2] == '1' then
    redis.call('HSET', KEYS[i], ARGV[1], ARGV[2])
  elseif redis.call('HGET', KEYS[i], ARGV[1]) == ARGV[2] then
    redis.call('HDEL', KEYS[i], ARGV[1])
  end
end
return {'ok', tostring(existed)}
