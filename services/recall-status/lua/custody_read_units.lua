-- Reads a chunk of one GTIN's units. KEYS: the product, then per unit its pack bucket and its
-- custody hash. ARGV: the serials. Returns the owner, then per unit its pack value and custody.
-- uses: pack_codec
local out = {redis.call('HGET', KEYS[1], 'owner')}
local contexts = contexts_of(KEYS[1])
for i = 1, #ARGV do
  out[#out + 1] = expand(contexts, redis.call('HGET', KEYS[2 * i], ARGV[i]))
  out[#out + 1] = redis.call('HGET', KEYS[2 * i + 1], ARGV[i])
end
return out
