-- Appends one entry to an audit chain. KEYS: chain stream, chain head. ARGV: entry JSON.
-- Returns the new hash.
-- uses: audit_chain
return chain_append(KEYS[1], KEYS[2], ARGV[1])
