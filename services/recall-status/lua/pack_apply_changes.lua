-- Applies decided changes to a chunk of one GTIN's packs, each only if the pack is as it was
-- read, together with its audit entry; each entry carries the hash of the one before it.
-- KEYS: audit stream, audit head, then per change its bucket and decommission hashes. ARGV: per
-- change serial, expected value, new value, decommission ('' to clear), audit entry. Returns
-- 1 (applied) or 0 (the pack changed since it was read) per change, in order.
-- uses: pack_codec, audit_chain
local applied = {}
local contexts = contexts_of(KEYS[1])
local previous = redis.call('GET', KEYS[2]) or ''
local head = previous
for i = 0, (#KEYS - 2) / 2 - 1 do
  local bucket, decommissions = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local serial, entry = ARGV[1 + 5 * i], ARGV[5 + 5 * i]
  if expand(contexts, redis.call('HGET', bucket, serial)) ~= ARGV[2 + 5 * i] then
    applied[i + 1] = 0
  else
    redis.call('HSET', bucket, serial, compact(contexts, ARGV[3 + 5 * i]))
    if ARGV[4 + 5 * i] == '' then
      redis.call('HDEL', decommissions, serial)
    else
      redis.call('HSET', decommissions, serial, ARGV[4 + 5 * i])
    end
    previous = chain_link(KEYS[1], previous, entry)
    applied[i + 1] = 1
  end
end
if previous ~= head then redis.call('SET', KEYS[2], previous) end
return applied
