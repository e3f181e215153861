-- Records events of a chunk of one GTIN's packs. KEYS: the GTIN's product hash (it names the
-- slot). ARGV: history limit, then per pack serial, bucket (4 hex), record code, place, entry.
-- uses: pack_record_one
local limit = tonumber(ARGV[1])
local tag = string.match(KEYS[1], '{[^}]*}')
for i = 0, (#ARGV - 1) / 5 - 1 do
  local b = 2 + 5 * i
  record_one(tag, ARGV[b + 1], ARGV[b], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], limit)
end
return 1
