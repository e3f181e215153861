-- Sets one field of a product- or lot-level hash and appends the audit entry, atomically;
-- answers 0 when the field already holds the value (nothing to do, nothing audited).
-- KEYS: the product or lot-state hash, audit stream, audit head. ARGV: field, value, audit
-- entry JSON.
-- uses: audit_chain
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
chain_append(KEYS[2], KEYS[3], ARGV[3])
return 1
