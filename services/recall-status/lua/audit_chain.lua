-- The links of a tamper-evident audit chain (see recall_status.audit): each entry is appended
-- to the chain's stream with the hash of the entry before it (``prev``) and its own
-- ``hash`` = SHA-1 hex of prev .. '\n' .. entry (SHA-1 is the hash Redis scripts offer; the chain
-- is re-verified outside Redis by `verinet audit verify`). Scripts that change state append
-- their audit entries in the same atomic step.

-- Appends entry to the chain stream after the hash previous; answers its own hash. Scripts
-- appending many entries read the head once, link each, and write the head once.
local function chain_link(stream, previous, entry)
  local hash = redis.sha1hex(previous .. '\n' .. entry)
  redis.call('XADD', stream, '*', 'entry', entry, 'prev', previous, 'hash', hash)
  return hash
end

-- Appends entry to the chain stream whose last hash is kept at head; answers the new hash.
local function chain_append(stream, head, entry)
  local hash = chain_link(stream, redis.call('GET', head) or '', entry)
  redis.call('SET', head, hash)
  return hash
end
