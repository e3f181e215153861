-- Records a chunk of one GTIN's unit-events, in order, as PackRepository.record_events does
-- (same encodings and record codes, the history capped alike), sending each event's entry
-- once. KEYS: the GTIN's product hash (it names the slot). ARGV: history limit, n, then n
-- triples (record code, place, history entry), then per unit its serial, bucket (4 hex) and
-- triple number (from 1).
-- uses: pack_record_one
local limit, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local tag = string.match(KEYS[1], '{[^}]*}')
local base = 2 + 3 * n
for i = 0, (#ARGV - base) / 3 - 1 do
  local serial, bucket, e = ARGV[base + 1 + 3 * i], ARGV[base + 2 + 3 * i], tonumber(ARGV[base + 3 + 3 * i])
  record_one(tag, bucket, serial, ARGV[3 * e], ARGV[1 + 3 * e], ARGV[2 + 3 * e], limit)
end
return 1
