-- Reads a chunk of one GTIN's packs. KEYS: product, lot states. ARGV: "1" to read decommissions,
-- then the packs as lines "<bucket, 4 hex><serial>" (one argument: a few thousand separate ones
-- cost the caller more to encode than the reads cost Redis); each pack's bucket, unit-recall and
-- decommission keys are made here from the GTIN's hash tag, so they are in its slot.
-- Returns one string of lines (one bulk reply, so Redis writes it in one go: a nested reply is
-- written one part at a time and reaches the caller in pieces): product state, owner, the
-- number of lot state lines and those lines (lot, state, ...), then per pack value, recalled
-- (0 or 1), decommission. An absent value is an empty line; no field holds a line break.
-- A pack is recalled one by one (its unit-recall field), by its lot (lot states), or by a recall
-- rule it matches when the recall's member list of its bucket names it; the rule and member
-- keys are not declared (they depend on the rules) but share the GTIN's hash tag, so its slot.
-- uses: pack_codec, pack_scope_match
local product = redis.call('HMGET', KEYS[1], 'state', 'owner')
local lot_flat = redis.call('HGETALL', KEYS[2])
local out = {product[1] or '', product[2] or '', #lot_flat}
for i = 1, #lot_flat do
  out[#out + 1] = lot_flat[i]
end
local with_decommission = ARGV[1] == '1'
local contexts = contexts_of(KEYS[1])
local tag = contexts.tag
local rules = nil
local rule_flat = redis.call('HGETALL', 'rcrule:' .. tag)
if #rule_flat > 0 then
  rules = {}
  for i = 1, #rule_flat, 2 do
    rules[#rules + 1] = {'rcs:' .. tag .. ':' .. string.match(rule_flat[i], '^[^:]+'), parse_rule(rule_flat[i + 1])}
  end
end
local packs, recalls, decommissions = 'pk:' .. tag .. ':', 'pr:' .. tag .. ':', 'pd:' .. tag .. ':'
for bucket, serial in string.gmatch(ARGV[2], '(%x%x%x%x)([^\n]+)') do
  local value = expand(contexts, redis.call('HGET', packs .. bucket, serial))
  out[#out + 1] = value or ''
  if value then
    local recalled = redis.call('HEXISTS', recalls .. bucket, serial)
    if recalled == 0 and rules then
      local lot, line, minute = pack_fields(value)
      for _, rule in ipairs(rules) do
        if rule_matches(rule[2], lot, line, minute) then
          local members = redis.call('HGET', rule[1], member_field(bucket))
          if members and listed(members, serial) then
            recalled = 1
            break
          end
        end
      end
    end
    out[#out + 1] = recalled
    out[#out + 1] = with_decommission and redis.call('HGET', decommissions .. bucket, serial) or ''
  else
    out[#out + 1] = 0
    out[#out + 1] = ''
  end
end
return table.concat(out, '\n')
