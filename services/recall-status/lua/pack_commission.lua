-- Commissions a chunk of one GTIN's packs. KEYS: the GTIN's two context hashes (they carry its
-- hash tag; the bucket keys are made here from it, so they are in the same slot). ARGV: the
-- bucket key prefix, the packs as lines "<bucket, 4 hex><context number>US<serial>", then the
-- chunk's contexts as expanded values (number n is ARGV[2 + n]). Each context is interned once
-- a call, so a pack costs one HSETNX. Returns per pack 1 when stored, else the value already
-- there (expanded).
-- uses: pack_codec
local prefix = ARGV[1]
local stored = {}
local contexts = contexts_of(KEYS[1])
for n = 3, #ARGV do stored[n - 2] = compact(contexts, ARGV[n]) end
local out = {}
for bucket, number, serial in string.gmatch(ARGV[2], '(%x%x%x%x)(%d+)\31([^\n]+)') do
  local key = prefix .. bucket
  if redis.call('HSETNX', key, serial, stored[tonumber(number)]) == 1 then
    out[#out + 1] = 1
  else
    out[#out + 1] = expand(contexts, redis.call('HGET', key, serial))
  end
end
return out
