-- The same for a batch of packs seen in one operation: they share the place, and their
-- history entries come from a short table. KEYS: the GTIN's product hash (it names the slot; the
-- other keys are made here from its hash tag). ARGV: history limit, place, the number of
-- entries, the entries, then the packs as lines "<bucket, 4 hex><record code><number of its
-- entry, 1-based>US<serial>".
-- uses: pack_record_one
local limit, place, entries = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local tag = string.match(KEYS[1], '{[^}]*}')
for bucket, code, number, serial in string.gmatch(ARGV[4 + entries], '(%x%x%x%x)(%u)(%d+)\31([^\n]+)') do
  record_one(tag, bucket, serial, code, place, ARGV[3 + tonumber(number)], limit)
end
return 1
