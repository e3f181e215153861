-- Records reminder ``ARGV[2]`` of partner ``ARGV[1]`` at ``ARGV[3]`` unless that step (or a later
-- one) is recorded already: replicas polling at once remind a partner once per step.
-- KEYS: the reminders hash. Answers 1 when recorded.
local before = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local sent = 0
for _ in string.gmatch(before, '[^,]+') do sent = sent + 1 end
if sent >= tonumber(ARGV[2]) then return 0 end
local entry = ARGV[3]
for _ = sent + 2, tonumber(ARGV[2]) do entry = entry .. ',' .. ARGV[3] end
redis.call('HSET', KEYS[1], ARGV[1], before ~= '' and (before .. ',' .. entry) or entry)
return 1
