-- One delivery attempt: its log entry and its audit entry, atomically (one slot: {rc:<id>}).
-- KEYS: audit stream, audit head, deliveries stream. ARGV: audit entry JSON, then the log
-- entry's field/value pairs. Returns the audit chain's new hash.
-- uses: audit_chain
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 2))
return chain_append(KEYS[1], KEYS[2], ARGV[1])
