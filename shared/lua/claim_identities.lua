-- Checks, then takes, a partner's identities in one step. KEYS: prefixes, glns, admins.
-- ARGV: mode, partner id, is admin ("1"/"0"), then counts and lists: new prefixes, new GLNs,
-- old prefixes, old GLNs. Modes: "claim" (refuse any overlap with another partner), "adopt"
-- (take in partners stored before claims existed, without refusing), "release" (revoke).
-- Answers {"ok"}, or {"prefix"|"gln", index} for the first refused item, or {"last_admin"}.
local mode, pid, admin = ARGV[1], ARGV[2], ARGV[3]
local i = 4
local function list()
  local n = tonumber(ARGV[i]); local out = {}
  for k = 1, n do out[k] = ARGV[i + k] end
  i = i + n + 1
  return out
end
local new_prefixes, new_glns, old_prefixes, old_glns = list(), list(), list(), list()
local function foreign(members)
  for _, member in ipairs(members) do
    if string.sub(member, -(#pid + 1)) ~= ':' .. pid then return true end
  end
  return false
end
local kept = {}  -- identities the partner already has are not checked again
for _, value in ipairs(old_prefixes) do kept['p' .. value] = true end
for _, value in ipairs(old_glns) do kept['g' .. value] = true end
local function overlaps(prefix)
  -- equal to or containing another partner's prefix: members that start with it
  if foreign(redis.call('ZRANGEBYLEX', KEYS[1], '[' .. prefix, '(' .. prefix .. ';')) then
    return true
  end
  -- inside another partner's prefix: a claim on one of its shorter beginnings
  for n = 4, #prefix - 1 do
    local head = string.sub(prefix, 1, n)
    if foreign(redis.call('ZRANGEBYLEX', KEYS[1], '[' .. head .. ':', '(' .. head .. ';')) then
      return true
    end
  end
  return false
end
if mode == 'claim' then
  for k, prefix in ipairs(new_prefixes) do
    if not kept['p' .. prefix] and overlaps(prefix) then return {'prefix', k} end
  end
  for k, gln in ipairs(new_glns) do
    local holder = redis.call('HGET', KEYS[2], gln)
    if holder and holder ~= pid and not kept['g' .. gln] then return {'gln', k} end
  end
end
if (mode == 'release' or admin == '0') and redis.call('SISMEMBER', KEYS[3], pid) == 1
    and redis.call('SCARD', KEYS[3]) == 1 then
  return {'last_admin'}
end
for _, prefix in ipairs(old_prefixes) do redis.call('ZREM', KEYS[1], prefix .. ':' .. pid) end
for _, gln in ipairs(old_glns) do
  if redis.call('HGET', KEYS[2], gln) == pid then redis.call('HDEL', KEYS[2], gln) end
end
if mode == 'release' then
  redis.call('SREM', KEYS[3], pid)
  return {'ok'}
end
for _, prefix in ipairs(new_prefixes) do redis.call('ZADD', KEYS[1], 0, prefix .. ':' .. pid) end
-- NX: a GLN another partner already held before claims existed stays with it
for _, gln in ipairs(new_glns) do redis.call('HSETNX', KEYS[2], gln, pid) end
if admin == '1' then redis.call('SADD', KEYS[3], pid) else redis.call('SREM', KEYS[3], pid) end
return {'ok'}
