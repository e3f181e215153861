-- Records events of a chunk of one GTIN's packs. KEYS: the GTIN's product hash (it names the
-- slot). ARGV: history limit, then the events as one string: lines separated by RS (30), each
-- holding bucket (4 hex), record code, serial, place and history entry separated by US (31).
-- uses: pack_record_one
local limit = tonumber(ARGV[1])
local tag = string.match(KEYS[1], '{[^}]*}')
for bucket, code, serial, place, entry in string.gmatch(ARGV[2], '(%x%x%x%x)\31(%u)\31([^\31]+)\31([^\31]*)\31([^\30]*)') do
  record_one(tag, bucket, serial, code, place, entry, limit)
end
return 1
