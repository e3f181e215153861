-- Releases a partner's capture lock if this capture still holds it (its token), so a capture
-- never frees the lock of a later one. KEYS: the lock. ARGV: the token. Returns 1 when released.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
