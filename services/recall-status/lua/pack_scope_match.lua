-- A pack value's lot, line and commissioning minute, and the filters of a recall scope
-- ("<line>US<first minute>US<end minute>[US<lot>...]", empty for any) matched against them.
local function pack_fields(value)
  local sep = string.find(value, '\31', 8, true)
  if not sep then return string.sub(value, 8), '', 0 end
  local sep2 = string.find(value, '\31', sep + 1, true) or (#value + 1)
  return string.sub(value, 8, sep - 1), string.sub(value, sep + 1, sep2 - 1), tonumber(string.sub(value, sep2 + 1), 16) or 0
end
local function parse_rule(text)
  local parts = {}
  for part in string.gmatch(text .. '\31', '([^\31]*)\31') do parts[#parts + 1] = part end
  local rule = {line = parts[1], first = tonumber(parts[2]), stop = tonumber(parts[3])}
  if #parts > 3 then
    rule.lots = {}
    for i = 4, #parts do rule.lots[parts[i]] = true end
  end
  return rule
end
local function member_field(bucket_key)
  return string.format('%03x', math.floor(tonumber(string.sub(bucket_key, -4), 16) / 16))
end
local function listed(members, serial)
  local from = 1
  while true do
    local first, last = string.find(members, serial, from, true)
    if not first then return false end
    if (first == 1 or string.byte(members, first - 1) == 10) and (last == #members or string.byte(members, last + 1) == 10) then
      return true
    end
    from = first + 1
  end
end
local function rule_matches(rule, lot, line, minute)
  if rule.lots and not rule.lots[lot] then return false end
  if rule.line ~= '' and line ~= rule.line then return false end
  if rule.first == nil and rule.stop == nil then return true end
  return minute ~= 0 and (rule.first == nil or minute >= rule.first) and (rule.stop == nil or minute < rule.stop)
end
