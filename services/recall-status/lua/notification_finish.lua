-- Acknowledges a processed entry and, only if this call acknowledged it (a slow consumer and
-- the one that took its entry over cannot both), schedules its retry or dead-letters it.
-- KEYS: notify, retry zset, dead stream. ARGV: group, entry id, mode (ack, retry or dead),
-- due time, retry member (JSON list of field/value pairs), then the dead entry's pairs.
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if acked == 0 then return 0 end
if ARGV[3] == 'retry' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
elseif ARGV[3] == 'dead' then
  redis.call('XADD', KEYS[3], '*', unpack(ARGV, 6))
end
return 1
