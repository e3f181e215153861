"""The hosted repository in Redis: products, commissioned packs and their states.

Key layout (every key of a GTIN carries the hash tag ``{gtin}`` so scripts and pipelines
that touch one GTIN stay in one Redis Cluster slot):

``prod:{G}``           hash  owner, name, state (A or W), created_at, withdrawn_at
``lotstate:{G}``       hash  lot -> state code (R when the whole lot is recalled)
``pk:{G}:<bucket>``    hash  serial -> 16 x context number + state number (an integer, see below)
``ctx:{G}``            hash  context -> its number, ``ctxid:{G}`` number -> context: the
                             GTIN's interned "<expiry YYMMDD><lot>[US<line>US<minute>]"
``pr:{G}:<bucket>``    hash  serial -> recall id, for units recalled one by one
``rcrule:{G}``         hash  "<recall id>:<n>" -> a recall's filter (lots, line, window), see SCOPE_SCRIPT
``rcs:{G}:<recall id>`` hash  span of 16 buckets -> serials (newline-joined) the recall took when published
``loc:{G}:<bucket>``   hash  serial -> last custody event "<unix time>|<event>|<partner>|<gln>"
                             (shipping, receiving, a state change by the custodian)
``sgt:{G}:<bucket>``   hash  serial -> possession-attested sightings since that custody event,
                             newline-joined, in the same form, one per partner, at most
                             ``MAX_SIGHTINGS`` (the oldest goes first)
``hist:{G}:<serial>``  list  the pack's events (JSON), newest last, capped
``pd:{G}:<bucket>``    hash  serial -> last decommission "<state>|<unix time>|<partner>|<gln>"
``audit:{G}``          stream the tamper-evident chain of state changes of the GTIN's packs
``audithead:{G}``      string hash of the chain's last entry

Packs are spread over ``BUCKETS`` hashes per GTIN by a CRC of the serial, so each hash stays
small enough for Redis's compact listpack/ziplist encoding (see ``embedded_redis``). A pack
stores only a small integer: its state and the number of its context (expiry, lot, line and
commissioning minute, which the packs of a lot share), interned per GTIN; Redis keeps such a
value in 2 to 4 bytes, so a pack costs its serial plus a few bytes. Scripts translate between
that and the expanded value ``<state code><context>`` (``PackValue``) that Python reads and
writes, so nothing outside the scripts sees the compact form. A lot recall or a product withdrawal is a
single field write, never one write per pack. A recall by line and window is one rule write
plus its member lists (at most one write per 16 buckets): a pack is recalled by it when it
matches the rule and is a member, so a pack commissioned after the recall into its window is
not.

Custody and sightings (README "Custody, sightings and visibility"): a verification never
writes ``loc``; a failed check is history only; an attested sighting goes to ``sgt``; a state
change is a custody event when the custodian makes it (``cus`` of
:mod:`verinet.recall_status.custody`, else the product's owner) and an attested sighting
otherwise. The record scripts apply that rule, so it holds however events arrive.

Past 500 lines, three ideas: the key layout and Lua scripts (the ``*_SCRIPT`` strings), the
value codecs (``PackValue``, ``DecommissionRecord``, ``Location``, ...), and the store
(``PackRepository``). It would be cut there, the scripts becoming ``.lua`` files.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
import redis.asyncio as aioredis

from verinet.errors import Forbidden, InvalidInput, NotFound
from verinet.packs import STATE_BY_STORED_CODE, PackRecord, PackState
from verinet.recall_status.audit import chain_append_lua, chain_link_lua
from verinet.store import reply_fields, run_script_batch
from verinet.timestamps import utc

BUCKETS = 16384
_BUCKET_MASK = BUCKETS - 1


# Master data attributes live in the product's hash under this prefix (``md:ndc``, ...).
MASTER_DATA_FIELD = "md:"


def product_key(gtin: str) -> str:
    return f"prod:{{{gtin}}}"


def lot_state_key(gtin: str) -> str:
    return f"lotstate:{{{gtin}}}"


def bucket_of(serial: str) -> int:
    return zlib.crc32(serial.encode()) & _BUCKET_MASK


# Bucket suffixes of keys as bytes, for loops over every pack of a bulk call: Redis clients
# pass bytes on as they are, and encode every str argument again.
_BUCKET_SUFFIXES = tuple(b"%04x" % bucket for bucket in range(BUCKETS))


def bucket_key(gtin: str, serial: str) -> str:
    return f"pk:{{{gtin}}}:{bucket_of(serial):04x}"


def bucket_key_at(gtin: str, bucket: int) -> str:
    return f"pk:{{{gtin}}}:{bucket:04x}"


def decommission_key(gtin: str, serial: str) -> str:
    return f"pd:{{{gtin}}}:{bucket_of(serial):04x}"


def pack_recall_key(gtin: str, serial: str) -> str:
    return f"pr:{{{gtin}}}:{bucket_of(serial):04x}"


def recall_rules_key(gtin: str) -> str:
    return f"rcrule:{{{gtin}}}"


def recall_members_key(gtin: str, recall_id: str) -> str:
    return f"rcs:{{{gtin}}}:{recall_id}"


def location_key(gtin: str, serial: str) -> str:
    return f"loc:{{{gtin}}}:{bucket_of(serial):04x}"


def history_key(gtin: str, serial: str) -> str:
    return f"hist:{{{gtin}}}:{serial}"


def sightings_key(gtin: str, serial: str) -> str:
    return f"sgt:{{{gtin}}}:{bucket_of(serial):04x}"


MAX_SIGHTINGS = 8

#: How an event is recorded (one character, as the record scripts take it): ``A`` a failed
#: check (history only), ``S`` a bare sighting (history only), ``P`` a possession-attested
#: sighting, ``C`` a state change (custody event if made by the custodian, else as ``P``),
#: ``L`` a custody event (EPCIS shipping, receiving, the custodian's state change).
RECORD_CODES = frozenset("ASPCL")


HISTORY_LIMIT = 200
_FIELD_SEPARATOR = "\x1f"  # never in CSET 82 lots, so it cannot be confused with data


def audit_key(gtin: str) -> str:
    return f"audit:{{{gtin}}}"


def audit_head_key(gtin: str) -> str:
    return f"audithead:{{{gtin}}}"


#: The stored state numbers: position in this string of ``PackState.stored``. Persisted in every
#: pack value, so append only.
STATE_NUMBERS = "ASDTMFXLCERWI"

# Translates pack values between the stored form (16 x context number + state number, an
# integer Redis stores in a few bytes) and the expanded form <state code><context> scripts
# answer and take. A context is numbered once per GTIN (ctx:{G} -> number, ctxid:{G} number ->
# context) and never changes, so a script caches both directions. A stored value that is not a
# number is an expanded one written before contexts were interned: it is read as it is and
# compacted at its next write. The interning keys share the bucket's hash tag, so its slot.
# A script gets the GTIN's contexts once (contexts_of any key of the GTIN), then translates
# each pack with a table lookup: stored values repeat (a few contexts, a few states).
PACK_CODEC_LUA = r"""
local STATE_NUMBERS = '""" + STATE_NUMBERS + r"""'
local context_cache = {}
local function contexts_of(key)
  local tag = string.match(key, '{[^}]*}')
  local contexts = context_cache[tag]
  if not contexts then
    contexts = {tag = tag, by_number = {}, by_text = {}, expanded = {}, ids = 'ctxid:' .. tag, texts = 'ctx:' .. tag}
    context_cache[tag] = contexts
  end
  return contexts
end
local function expand(contexts, stored)
  if not stored then return stored end
  local known = contexts.expanded[stored]
  if known then return known end
  local first = string.byte(stored, 1)
  if first < 48 or first > 57 then return stored end
  local number = tonumber(stored)
  local state = number % 16
  local id = (number - state) / 16
  local text = contexts.by_number[id]
  if not text then
    text = redis.call('HGET', contexts.ids, string.format('%d', id)) or ''
    contexts.by_number[id] = text
  end
  known = string.sub(STATE_NUMBERS, state + 1, state + 1) .. text
  contexts.expanded[stored] = known
  return known
end
local function compact(contexts, value)
  local text = string.sub(value, 2)
  local id = contexts.by_text[text]
  if not id then
    id = tonumber(redis.call('HGET', contexts.texts, text))
    if not id then
      id = redis.call('HLEN', contexts.ids) + 1
      redis.call('HSET', contexts.ids, string.format('%d', id), text)
      redis.call('HSET', contexts.texts, text, string.format('%d', id))
    end
    contexts.by_text[text] = id
    contexts.by_number[id] = text
  end
  local state = string.find(STATE_NUMBERS, string.sub(value, 1, 1), 1, true)
  if not state then error('unknown pack state ' .. string.sub(value, 1, 1)) end
  return string.format('%d', id * 16 + state - 1)
end
"""


# Applies decided changes to a chunk of one GTIN's packs, each only if the pack is as it was
# read, together with its audit entry; each entry carries the hash of the one before it (SHA-1
# is what Redis scripts offer; the chain is re-verified outside Redis by `verinet audit verify`).
# KEYS: audit stream, audit head, then per change its bucket and decommission hashes. ARGV: per
# change serial, expected value, new value, decommission ('' to clear), audit entry. Returns
# 1 (applied) or 0 (the pack changed since it was read) per change, in order.
APPLY_CHANGES_SCRIPT = PACK_CODEC_LUA + r"""
local applied = {}
local contexts = contexts_of(KEYS[1])
local previous = redis.call('GET', KEYS[2]) or ''
local head = previous
for i = 0, (#KEYS - 2) / 2 - 1 do
  local bucket, decommissions = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local serial, entry = ARGV[1 + 5 * i], ARGV[5 + 5 * i]
  if expand(contexts, redis.call('HGET', bucket, serial)) ~= ARGV[2 + 5 * i] then
    applied[i + 1] = 0
  else
    redis.call('HSET', bucket, serial, compact(contexts, ARGV[3 + 5 * i]))
    if ARGV[4 + 5 * i] == '' then
      redis.call('HDEL', decommissions, serial)
    else
      redis.call('HSET', decommissions, serial, ARGV[4 + 5 * i])
    end
""" + chain_link_lua("KEYS[1]", "entry") + """
    previous = hash
    applied[i + 1] = 1
  end
end
if previous ~= head then redis.call('SET', KEYS[2], previous) end
return applied
"""


# Sets one field of a product- or lot-level hash and appends the audit entry, atomically;
# answers 0 when the field already holds the value (nothing to do, nothing audited).
SET_LEVEL_STATE_SCRIPT = r"""
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
""" + chain_append_lua("KEYS[2]", "KEYS[3]", "ARGV[3]") + "return 1\n"


# A pack value's lot, line and commissioning minute, and the filters of a recall scope
# ("<line>US<first minute>US<end minute>[US<lot>...]", empty for any) matched against them.
_SCOPE_MATCH_LUA = r"""
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
"""

# Reads a chunk of one GTIN's packs. KEYS: product, lot states. ARGV: "1" to read decommissions,
# then the packs as lines "<bucket, 4 hex><serial>" (one argument: a few thousand separate ones
# cost the caller more to encode than the reads cost Redis); each pack's bucket, unit-recall and
# decommission keys are made here from the GTIN's hash tag, so they are in its slot.
# Returns product state, owner, the lot states (flat), then per pack value, recalled, decommission.
# A pack is recalled one by one (its unit-recall field), by its lot (lot states), or by a recall
# rule it matches when the recall's member list of its bucket names it; the rule and member
# keys are not declared (they depend on the rules) but share the GTIN's hash tag, so its slot.
STATUS_SCRIPT = PACK_CODEC_LUA + _SCOPE_MATCH_LUA + r"""
local product = redis.call('HMGET', KEYS[1], 'state', 'owner')
local out = {product[1], product[2], redis.call('HGETALL', KEYS[2])}
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
  out[#out + 1] = value
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
    out[#out + 1] = with_decommission and redis.call('HGET', decommissions .. bucket, serial) or false
  else
    out[#out + 1] = 0
    out[#out + 1] = false
  end
end
return out
"""

# Records one event of a pack by its record code (see RECORD_CODES): the custody event, the
# attested sighting, and the history entry. Keys are made from the GTIN's hash tag and the
# pack's bucket (4 hex), so they share the slot of the keys a script declares. A sighting is
# "<unix time>|<event>|<partner>|<gln>", as a location; a partner keeps one, its latest.
RECORD_ONE_LUA = r"""
local MAX_SIGHTINGS = """ + str(MAX_SIGHTINGS) + r"""
local function partner_of(place)
  return string.match(place, '^[^|]*|[^|]*|([^|]*)')
end
local function add_sighting(key, serial, place)
  local partner = partner_of(place)
  local kept = {}
  local before = redis.call('HGET', key, serial)
  if before then
    for line in string.gmatch(before, '[^\n]+') do
      if partner_of(line) ~= partner then kept[#kept + 1] = line end
    end
  end
  kept[#kept + 1] = place
  while #kept > MAX_SIGHTINGS do table.remove(kept, 1) end
  redis.call('HSET', key, serial, table.concat(kept, '\n'))
end
local function custodian_of(tag, bucket, serial)
  local custody = redis.call('HGET', 'cus:' .. tag .. ':' .. bucket, serial)
  if custody then return string.match(custody, '^[HT]|([^|]*)') end
  return redis.call('HGET', 'prod:' .. tag, 'owner')
end
local function record_one(tag, bucket, serial, code, place, entry, limit)
  if code == 'C' then
    if custodian_of(tag, bucket, serial) == partner_of(place) then code = 'L' else code = 'P' end
  end
  if code == 'L' then
    redis.call('HSET', 'loc:' .. tag .. ':' .. bucket, serial, place)
    redis.call('HDEL', 'sgt:' .. tag .. ':' .. bucket, serial)
  elseif code == 'P' then
    add_sighting('sgt:' .. tag .. ':' .. bucket, serial, place)
  end
  local history = 'hist:' .. tag .. ':' .. serial
  if redis.call('RPUSH', history, entry) > limit then
    redis.call('LTRIM', history, -limit, -1)
  end
end
"""

# Records events of a chunk of one GTIN's packs. KEYS: the GTIN's product hash (it names the
# slot). ARGV: history limit, then per pack serial, bucket (4 hex), record code, place, entry.
RECORD_EVENTS_SCRIPT = RECORD_ONE_LUA + r"""
local limit = tonumber(ARGV[1])
local tag = string.match(KEYS[1], '{[^}]*}')
for i = 0, (#ARGV - 1) / 5 - 1 do
  local b = 2 + 5 * i
  record_one(tag, ARGV[b + 1], ARGV[b], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], limit)
end
return 1
"""

# The same for a batch of packs seen in one operation: they share the place, and their
# history entries come from a short table. KEYS: the GTIN's product hash (it names the slot; the
# other keys are made here from its hash tag). ARGV: history limit, place, the number of
# entries, the entries, then the packs as lines "<bucket, 4 hex><record code><number of its
# entry, 1-based>US<serial>".
RECORD_EVENT_BATCH_SCRIPT = RECORD_ONE_LUA + r"""
local limit, place, entries = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local tag = string.match(KEYS[1], '{[^}]*}')
for bucket, code, number, serial in string.gmatch(ARGV[4 + entries], '(%x%x%x%x)(%u)(%d+)\31([^\n]+)') do
  record_one(tag, bucket, serial, code, place, ARGV[3 + tonumber(number)], limit)
end
return 1
"""

STATUS_CHUNK = 500

# A recall scope is computed inside Redis, SCOPE_GROUP buckets of one GTIN a call, so that a
# million packs never travel to Python one by one. KEYS: the recall's member hash of the GTIN,
# then per bucket its packs, custody events and sightings. ARGV: mode ("count", "list", or
# "mark" to also add each match to the member hash in the same atomic step as reading it), the
# filter. Returns the number of matches, their serials joined by newlines ("list" and "mark"),
# and per match with a custody event or a sighting: serial, pack value, custody event ('' for
# none), sightings ('' for none).
SCOPE_SCRIPT = PACK_CODEC_LUA + _SCOPE_MATCH_LUA + r"""
local mode = ARGV[1]
local rule = parse_rule(ARGV[2])
local contexts = contexts_of(KEYS[1])
local listing, marking = mode ~= 'count', mode == 'mark'
local count, members, located, matched = 0, {}, {}, {}
for b = 2, #KEYS, 3 do
  local packs = redis.call('HGETALL', KEYS[b])
  local seen, sighted = nil, nil
  for i = 1, #packs, 2 do
    local value = expand(contexts, packs[i + 1])
    local lot, line, minute = pack_fields(value)
    if rule_matches(rule, lot, line, minute) then
      local serial = packs[i]
      count = count + 1
      if listing then members[#members + 1] = serial end
      if marking then
        local field = member_field(KEYS[b])
        matched[field] = matched[field] or {}
        table.insert(matched[field], serial)
      end
      if seen == nil then
        seen, sighted = {}, {}
        local flat = redis.call('HGETALL', KEYS[b + 1])
        for j = 1, #flat, 2 do seen[flat[j]] = flat[j + 1] end
        flat = redis.call('HGETALL', KEYS[b + 2])
        for j = 1, #flat, 2 do sighted[flat[j]] = flat[j + 1] end
      end
      local where, sightings = seen[serial], sighted[serial]
      if where or sightings then
        located[#located + 1] = serial
        located[#located + 1] = value
        located[#located + 1] = where or ''
        located[#located + 1] = sightings or ''
      end
    end
  end
end
for field, serials in pairs(matched) do
  local before = redis.call('HGET', KEYS[1], field)
  if before then
    local known = {}
    for serial in string.gmatch(before, '[^\n]+') do known[serial] = true end
    local merged = {before}
    for _, serial in ipairs(serials) do
      if not known[serial] then merged[#merged + 1] = serial end
    end
    if #merged > 1 then redis.call('HSET', KEYS[1], field, table.concat(merged, '\n')) end
  else
    redis.call('HSET', KEYS[1], field, table.concat(serials, '\n'))
  end
end
return {count, table.concat(members, '\n'), located}
"""

SCOPE_GROUP = 128  # buckets a scope call reads: about 8,000 packs of a 1,000,000-pack GTIN
SCOPE_GROUPS = BUCKETS // SCOPE_GROUP


def scope_group_of(serial: str) -> int:
    """The scope call (and recall member group) that covers ``serial``."""
    return bucket_of(serial) // SCOPE_GROUP


@dataclass(frozen=True, slots=True)
class ScopeFilter:
    """Which packs of a GTIN a recall scope takes: by lots, line and commissioning minutes
    (``first_minute`` included, ``end_minute`` excluded); empty means any."""

    lots: tuple[str, ...] = ()
    line: str = ""
    first_minute: int | None = None
    end_minute: int | None = None

    def encode(self) -> str:
        bounds = ("" if m is None else str(m) for m in (self.first_minute, self.end_minute))
        return _FIELD_SEPARATOR.join((self.line, *bounds, *self.lots))


@dataclass(frozen=True, slots=True)
class ScopeGroup:
    """The packs of one scope group that match: how many, their serials joined by newlines,
    and those with a custody event or an attested sighting."""

    group: int
    count: int
    serials: bytes
    located: list[tuple[str, PackValue, Whereabouts]]

# Commissions a chunk of one GTIN's packs. KEYS: the GTIN's two context hashes (they carry its
# hash tag; the bucket keys are made here from it, so they are in the same slot). ARGV: the
# bucket key prefix, the packs as lines "<bucket, 4 hex><context number>US<serial>", then the
# chunk's contexts as expanded values (number n is ARGV[2 + n]). Each context is interned once
# a call, so a pack costs one HSETNX. Returns per pack 1 when stored, else the value already
# there (expanded).
COMMISSION_SCRIPT = PACK_CODEC_LUA + r"""
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
"""
COMMISSION_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class DecommissionRecord:
    state: PackState
    at: float
    partner_id: str
    location_gln: str

    def encode(self) -> bytes:
        return f"{self.state.stored}|{self.at:.3f}|{self.partner_id}|{self.location_gln}".encode()

    @classmethod
    def decode(cls, raw: bytes) -> DecommissionRecord:
        state, at, partner, gln = raw.decode().split("|", 3)
        return cls(PackState.from_stored(state), float(at), partner, gln)


@dataclass(frozen=True, slots=True)
class PackChange:
    gtin: str
    serial: str
    expected_revision: bytes
    new_state: PackState
    decommission: DecommissionRecord | None
    audit_entry: bytes  # JSON of the audit event


class StoredPack(NamedTuple):
    """A pack record with what an operation needs to decide and to write back safely (a named
    tuple: one is made per pack read)."""

    record: PackRecord
    last_decommission: DecommissionRecord | None
    revision: bytes


@dataclass(frozen=True, slots=True)
class PackValue:
    """One stored pack, packed into a short string: state, expiry, lot and production context."""

    state: PackState
    expiry: str
    lot: str
    line: str = ""
    commissioned_minute: int = 0  # minutes since the Unix epoch; 0 when unknown

    def encode(self) -> bytes:
        text = f"{self.state.stored}{self.expiry:<6.6}{self.lot}"
        if self.line or self.commissioned_minute:
            text += f"{_FIELD_SEPARATOR}{self.line}{_FIELD_SEPARATOR}{self.commissioned_minute:x}"
        return text.encode()

    @classmethod
    def decode(cls, raw: bytes) -> PackValue:
        text = raw.decode()
        lot, _, production = text[7:].partition(_FIELD_SEPARATOR)
        line, _, minute = production.partition(_FIELD_SEPARATOR)
        return cls(
            PackState.from_stored(text[0]),
            text[1:7].strip(),
            lot,
            line,
            int(minute, 16) if minute else 0,
        )

    @property
    def commissioned_at(self) -> float:
        return self.commissioned_minute * 60.0

    def with_state(self, state: PackState) -> PackValue:
        return PackValue(state, self.expiry, self.lot, self.line, self.commissioned_minute)


@dataclass(frozen=True, slots=True)
class PackEventData:
    """Where a pack was seen or handled: the partner, the GLN, when, by which event, and how
    it is recorded (``record``, one of ``RECORD_CODES``)."""

    gtin: str
    serial: str
    event: str
    partner_id: str
    gln: str
    at: float
    detail: str = ""
    record: str = "S"
    outcome: str = ""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "event": self.event,
            "partner": self.partner_id,
            "gln": self.gln,
            "at": utc(self.at),
            "detail": self.detail,
        }
        if self.outcome:
            out["outcome"] = self.outcome
        if self.record == "A":
            out["attempt"] = True
        elif self.record == "P":
            out["possession_attested"] = True
        return out

    @property
    def place(self) -> str:
        """The custody event or sighting as the record scripts store it."""
        return f"{self.at:.3f}|{self.event}|{self.partner_id}|{self.gln}"


def require_record_code(code: str) -> str:
    if code not in RECORD_CODES:
        raise InvalidInput(
            f"Failed to record a pack event: expected a record code of {', '.join(sorted(RECORD_CODES))}, got {code!r}.",
            code="events.record",
        )
    return code


@dataclass(frozen=True, slots=True)
class PackEventBatchData:
    """One event seen on many packs at once: the same partner, location, time and event,
    with each pack's GTIN, serial, detail and record code (columns of equal length; no
    record codes: every pack a bare sighting)."""

    event: str
    partner_id: str
    gln: str
    at: float
    gtins: Sequence[str]
    serials: Sequence[str]
    details: Sequence[str]
    records: Sequence[str] = ()

    def history_entry(self, detail: str, record: str = "S") -> bytes:
        return orjson.dumps(
            PackEventData("", "", self.event, self.partner_id, self.gln, self.at, detail, record).as_dict()
        )


@dataclass(frozen=True, slots=True)
class Location:
    """A custody event or a sighting: when, which event, which partner, at which GLN."""

    at: float
    event: str
    partner_id: str
    gln: str

    @classmethod
    def decode(cls, raw: bytes) -> Location:
        at, event, partner, gln = raw.decode().split("|", 3)
        return cls(float(at), event, partner, gln)


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """What is stored of where a pack is: its last custody event (None: never moved from its
    manufacturer) and the possession-attested sightings recorded since."""

    custody: Location | None = None
    sightings: tuple[Location, ...] = ()

    @classmethod
    def decode(cls, custody: bytes | None, sightings: bytes | None) -> Whereabouts:
        return cls(
            Location.decode(custody) if custody else None,
            tuple(Location.decode(line) for line in sightings.split(b"\n") if line) if sightings else (),
        )

    def __bool__(self) -> bool:
        return self.custody is not None or bool(self.sightings)


@dataclass(frozen=True, slots=True)
class Product:
    gtin: str
    owner_partner_id: str
    name: str
    state: PackState
    created_at: str
    # Master data by name (ndc, dosage_form, strength, net_content, manufacturer, ...).
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommissionOutcome:
    """Per-pack outcome: ``stored``, ``unchanged`` (same data already there) or ``conflict``."""

    status: str
    existing_lot: str = ""
    existing_expiry: str = ""


class NewPack(NamedTuple):
    """A pack to commission (a named tuple: one is made per pack of an upload)."""

    gtin: str
    serial: str
    lot: str
    expiry: str
    line: str = ""
    commissioned_at: float = 0.0

    def value(self) -> bytes:
        return PackValue(
            PackState.ACTIVE, self.expiry, self.lot, self.line, int(self.commissioned_at // 60)
        ).encode()


class PackRepository:
    """Products and packs of the manufacturers hosted in this network."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def register_product(
        self, gtin: str, owner_partner_id: str, name: str, now: dt.datetime, attributes: dict[str, str] | None = None
    ) -> tuple[Product, bool]:
        key = product_key(gtin)
        created = await self.redis.hsetnx(key, "owner", owner_partner_id)
        if created:
            await self.redis.hset(
                key,
                mapping={"name": name, "state": PackState.ACTIVE.stored, "created_at": now.isoformat()},
            )
        product = await self.product(gtin)
        if product is None:  # pragma: no cover - we just wrote it
            raise NotFound(f"Product {gtin!r} vanished while being registered.")
        if product.owner_partner_id != owner_partner_id:
            raise Forbidden(
                f"Failed to register GTIN {gtin!r}: it is owned by another partner.",
                code="product.foreign_owner",
                field="gtin",
            )
        changed: dict[Any, str] = {f"{MASTER_DATA_FIELD}{k}": v for k, v in (attributes or {}).items() if product.attributes.get(k) != v}
        if not created and name and product.name != name:
            changed["name"] = name
        if changed:
            await self.redis.hset(key, mapping=changed)
            product = await self.product(gtin) or product
        return product, bool(created)

    async def product(self, gtin: str) -> Product | None:
        raw = reply_fields(await self.redis.hgetall(product_key(gtin)))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        return Product(
            gtin=gtin,
            owner_partner_id=fields.get("owner", ""),
            name=fields.get("name", ""),
            state=PackState.from_stored(fields.get("state", "A")),
            created_at=fields.get("created_at", ""),
            attributes={k[len(MASTER_DATA_FIELD) :]: v for k, v in fields.items() if k.startswith(MASTER_DATA_FIELD)},
        )

    async def require_owned_product(self, gtin: str, partner_id: str, *, is_admin: bool) -> Product:
        product = await self.product(gtin)
        if product is None:
            raise NotFound(
                f"Failed to find product {gtin!r}: register it with PUT /v1/products/{gtin} first.",
                code="product.not_registered",
                field="gtin",
            )
        if not is_admin and product.owner_partner_id != partner_id:
            raise Forbidden(
                f"Failed to use product {gtin!r}: it belongs to another manufacturer.",
                code="product.foreign_owner",
                field="gtin",
            )
        return product

    async def commission(self, packs: Sequence[NewPack]) -> list[CommissionOutcome]:
        """Stores packs as ACTIVE; a repeat with the same lot and expiry is a no-op.

        One round trip: a script call per GTIN and chunk stores what is new and answers what
        was already there."""
        if not packs:
            return []
        groups: dict[str, list[int]] = {}
        for index, pack in enumerate(packs):
            groups.setdefault(pack.gtin, []).append(index)
        calls: list[tuple[list[str], list[Any]]] = []
        chunks: list[list[int]] = []
        suffixes = _BUCKET_SUFFIXES
        for gtin, indexes in groups.items():
            for start in range(0, len(indexes), COMMISSION_CHUNK):
                chunk = indexes[start : start + COMMISSION_CHUNK]
                # Packs of a chunk share a few contexts: each is encoded and sent once.
                numbers: dict[tuple[str, str, str, float], bytes] = {}
                contexts: dict[bytes, bytes] = {}
                lines: list[bytes] = []
                serials = [packs[i].serial.encode() for i in chunk]
                require_packable(serials)
                for i, serial in zip(chunk, serials, strict=True):
                    pack = packs[i]
                    context = pack[2:]
                    number = numbers.get(context)
                    if number is None:
                        value = pack.value()
                        number = contexts.get(value)
                        if number is None:
                            number = contexts[value] = b"%d\x1f" % (len(contexts) + 1)
                        numbers[context] = number
                    lines.append(suffixes[zlib.crc32(serial) & _BUCKET_MASK] + number + serial)
                calls.append(
                    (
                        [f"ctx:{{{gtin}}}", f"ctxid:{{{gtin}}}"],
                        [f"pk:{{{gtin}}}:", b"\n".join(lines), *contexts],
                    )
                )
                chunks.append(chunk)
        replies = await run_script_batch(self.redis, self.redis.register_script(COMMISSION_SCRIPT), calls)
        stored = CommissionOutcome("stored")
        unchanged = CommissionOutcome("unchanged")
        outcomes: list[CommissionOutcome] = [stored] * len(packs)
        for chunk, reply in zip(chunks, replies, strict=True):
            for i, answer in zip(chunk, reply, strict=True):
                if answer == 1:
                    continue
                existing = PackValue.decode(answer)
                if existing.lot == packs[i].lot and existing.expiry == packs[i].expiry:
                    outcomes[i] = unchanged
                else:
                    outcomes[i] = CommissionOutcome("conflict", existing.lot, existing.expiry)
        return outcomes

    async def statuses(
        self,
        keys: Sequence[tuple[str, str]],
        *,
        with_decommission: bool = False,
        owners: dict[str, str] | None = None,
    ) -> list[StoredPack | None]:
        """Records for (gtin, serial) pairs: one script call per GTIN and chunk, all sent in
        one round trip (a pipeline; concurrent calls on a cluster). ``owners``, when given,
        receives the owner of each registered product among them (read by the same calls)."""
        groups: dict[str, list[int]] = {}
        for index, (gtin, _) in enumerate(keys):
            groups.setdefault(gtin, []).append(index)
        calls: list[tuple[list[str], list[Any]]] = []
        chunks: list[tuple[str, list[int]]] = []
        flag = b"1" if with_decommission else b"0"
        for gtin, indexes in groups.items():
            script_keys = [product_key(gtin), lot_state_key(gtin)]
            for start in range(0, len(indexes), STATUS_CHUNK):
                chunk = indexes[start : start + STATUS_CHUNK]
                serials = [keys[i][1].encode() for i in chunk]
                require_packable(serials)
                lines = [_BUCKET_SUFFIXES[zlib.crc32(serial) & _BUCKET_MASK] + serial for serial in serials]
                calls.append((script_keys, [flag, b"\n".join(lines)]))
                chunks.append((gtin, chunk))
        replies = await run_script_batch(self.redis, self.redis.register_script(STATUS_SCRIPT), calls)
        records: list[StoredPack | None] = [None] * len(keys)
        for (gtin, chunk), reply in zip(chunks, replies, strict=True):
            product_state = PackState.from_stored(reply[0].decode()) if reply[0] else PackState.ACTIVE
            owner = reply[1].decode() if reply[1] else ""
            if owners is not None and owner:
                owners[gtin] = owner
            lot_flat = reply[2]
            lot_states = {
                lot.decode(): PackState.from_stored(code.decode()) if code else PackState.ACTIVE
                for lot, code in zip(lot_flat[::2], lot_flat[1::2], strict=True)
            }
            for n, i in enumerate(chunk):
                value, unit_recalled, decommission = reply[3 + 3 * n : 6 + 3 * n]
                if value is None:
                    continue
                records[i] = self._stored(
                    gtin, keys[i][1], value, unit_recalled, decommission, product_state, owner, lot_states
                )
        return records

    async def product_owners(self, gtins: Sequence[str]) -> dict[str, str]:
        """Owner partner id of each registered product among ``gtins``."""
        unique = list(dict.fromkeys(gtins))
        pipe = self.redis.pipeline(transaction=False)
        for gtin in unique:
            pipe.hget(product_key(gtin), "owner")
        return {g: o.decode() for g, o in zip(unique, await pipe.execute(), strict=True) if o}

    @staticmethod
    def _stored(
        gtin: str,
        serial: str,
        value: bytes,
        unit_recalled: int,
        decommission: bytes | None,
        product_state: PackState,
        owner: str,
        lot_states: dict[str, PackState],
    ) -> StoredPack:
        # PackValue.decode, without the object: this runs for every pack of a bulk call.
        text = value.decode()
        lot = text[7:]
        if _FIELD_SEPARATOR in lot:
            lot = lot.partition(_FIELD_SEPARATOR)[0]
        record = PackRecord(
            gtin,
            serial,
            lot,
            text[1:7].strip(),
            STATE_BY_STORED_CODE[text[0]],
            PackState.RECALLED if unit_recalled else lot_states.get(lot, PackState.ACTIVE),
            product_state,
            owner,
        )
        return StoredPack(record, DecommissionRecord.decode(decommission) if decommission else None, value)

    async def withdraw_product(self, gtin: str, audit_entry: bytes) -> bool:
        """Marks a product withdrawn: one write, whatever the number of packs. Irreversible."""
        script = self.redis.register_script(SET_LEVEL_STATE_SCRIPT)
        changed = await script(
            keys=[product_key(gtin), audit_key(gtin), audit_head_key(gtin)],
            args=["state", PackState.WITHDRAWN.stored, audit_entry],
        )
        return bool(changed)

    async def apply(self, changes: Sequence[PackChange]) -> list[bool]:
        """Applies each change atomically with its audit entry, if the pack is unchanged: one
        script call per GTIN and chunk, changes of a GTIN applied and audited in order."""
        groups: dict[str, list[int]] = {}
        for index, change in enumerate(changes):
            groups.setdefault(change.gtin, []).append(index)
        calls: list[tuple[list[str], list[Any]]] = []
        chunks: list[list[int]] = []
        for gtin, indexes in groups.items():
            for start in range(0, len(indexes), STATUS_CHUNK):
                chunk = indexes[start : start + STATUS_CHUNK]
                keys = [audit_key(gtin), audit_head_key(gtin)]
                args: list[Any] = []
                for i in chunk:
                    change = changes[i]
                    bucket = f"{bucket_of(change.serial):04x}"
                    keys += [f"pk:{{{gtin}}}:{bucket}", f"pd:{{{gtin}}}:{bucket}"]
                    # PackValue(...).with_state(...).encode() without the objects: the state is
                    # the value's first character, the rest stays as it is.
                    new_value = change.new_state.stored.encode() + change.expected_revision[1:]
                    args += [
                        change.serial,
                        change.expected_revision,
                        new_value,
                        change.decommission.encode() if change.decommission else b"",
                        change.audit_entry,
                    ]
                calls.append((keys, args))
                chunks.append(chunk)
        applied = [False] * len(changes)
        if calls:
            replies = await run_script_batch(self.redis, self.redis.register_script(APPLY_CHANGES_SCRIPT), calls)
            for chunk, reply in zip(chunks, replies, strict=True):
                for i, done in zip(chunk, reply, strict=True):
                    applied[i] = bool(done)
        return applied

    async def record_events(self, events: Sequence[PackEventData]) -> int:
        """Custody events, sightings and history of each pack, by their record codes (the
        caller checks the pack exists): one script call per GTIN and chunk, all in one round
        trip."""
        groups: dict[str, list[PackEventData]] = {}
        for event in events:
            require_record_code(event.record)
            groups.setdefault(event.gtin, []).append(event)
        calls: list[tuple[list[str], list[Any]]] = []
        for gtin, group in groups.items():
            for start in range(0, len(group), STATUS_CHUNK):
                chunk = group[start : start + STATUS_CHUNK]
                require_packable([e.serial.encode() for e in chunk])
                args: list[Any] = [HISTORY_LIMIT]
                for e in chunk:
                    args += [e.serial, f"{bucket_of(e.serial):04x}", e.record, e.place, orjson.dumps(e.as_dict())]
                calls.append(([product_key(gtin)], args))
        if calls:
            await run_script_batch(self.redis, self.redis.register_script(RECORD_EVENTS_SCRIPT), calls)
        return len(events)

    async def record_event_batch(self, batch: PackEventBatchData) -> int:
        """Records ``batch`` exactly as :meth:`record_events` would record its events one by
        one, with one script call per GTIN and chunk and no per-pack formatting."""
        records = batch.records or ["S"] * len(batch.gtins)
        if not len(batch.gtins) == len(batch.serials) == len(batch.details) == len(records):
            raise InvalidInput(
                f"Failed to record a batch of pack events: expected as many serials, details and "
                f"record codes as GTINs ({len(batch.gtins)}), got {len(batch.serials)}, "
                f"{len(batch.details)} and {len(records)}.",
                code="events.columns",
            )
        for code in set(records):
            require_record_code(code)
        place = f"{batch.at:.3f}|{batch.event}|{batch.partner_id}|{batch.gln}"
        history = {(d, r): batch.history_entry(d, r) for d, r in set(zip(batch.details, records, strict=True))}
        groups: dict[str, list[int]] = {}
        for index, gtin in enumerate(batch.gtins):
            groups.setdefault(gtin, []).append(index)
        serials, details = batch.serials, batch.details
        calls: list[tuple[list[str], list[Any]]] = []
        for gtin, indexes in groups.items():
            for start in range(0, len(indexes), STATUS_CHUNK):
                chunk = indexes[start : start + STATUS_CHUNK]
                packed = [serials[i].encode() for i in chunk]
                require_packable(packed)
                lines: list[bytes] = []
                chunk_entries: dict[tuple[str, str], bytes] = {}
                for i, serial in zip(chunk, packed, strict=True):
                    pair = (details[i], records[i])
                    number = chunk_entries.get(pair)
                    if number is None:
                        number = chunk_entries[pair] = b"%d\x1f" % (len(chunk_entries) + 1)
                    lines.append(_BUCKET_SUFFIXES[zlib.crc32(serial) & _BUCKET_MASK] + records[i].encode() + number + serial)
                entries = [history[pair] for pair in chunk_entries]
                calls.append(([product_key(gtin)], [HISTORY_LIMIT, place, len(entries), *entries, b"\n".join(lines)]))
        if calls:
            script = self.redis.register_script(RECORD_EVENT_BATCH_SCRIPT)
            await run_script_batch(self.redis, script, calls)
        return len(batch.gtins)

    async def locations(self, keys: Sequence[tuple[str, str]]) -> list[Location | None]:
        """The last custody event of each pack (None: never moved from its manufacturer)."""
        pipe = self.redis.pipeline(transaction=False)
        for gtin, serial in keys:
            pipe.hget(location_key(gtin, serial), serial)
        return [Location.decode(raw) if raw else None for raw in await pipe.execute()]

    async def whereabouts(self, keys: Sequence[tuple[str, str]]) -> list[Whereabouts]:
        """The last custody event and the attested sightings of each pack, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for gtin, serial in keys:
            pipe.hget(location_key(gtin, serial), serial)
            pipe.hget(sightings_key(gtin, serial), serial)
        replies = await pipe.execute()
        return [Whereabouts.decode(replies[2 * n], replies[2 * n + 1]) for n in range(len(keys))]

    async def history(self, gtin: str, serial: str) -> list[dict[str, object]]:
        return [orjson.loads(raw) for raw in await self.redis.lrange(history_key(gtin, serial), 0, -1)]

    async def scan_scope(
        self, gtin: str, where: ScopeFilter, *, mode: str = "count", recall_id: str = "", batch: int = 16
    ) -> AsyncIterator[ScopeGroup]:
        """The packs of a GTIN matching ``where``, filtered inside Redis a group of buckets at a
        time. ``mode="mark"`` also makes each match a member of ``recall_id`` in the same
        atomic step, which with ``add_recall_rule`` makes it recalled."""
        script = self.redis.register_script(SCOPE_SCRIPT)
        args = [mode, where.encode()]
        for start in range(0, SCOPE_GROUPS, batch):
            groups = range(start, min(start + batch, SCOPE_GROUPS))
            calls = []
            for group in groups:
                keys = [recall_members_key(gtin, recall_id)]
                for bucket in range(group * SCOPE_GROUP, (group + 1) * SCOPE_GROUP):
                    keys += [bucket_key_at(gtin, bucket), f"loc:{{{gtin}}}:{bucket:04x}", f"sgt:{{{gtin}}}:{bucket:04x}"]
                calls.append((keys, args))
            for group, (count, serials, flat) in zip(groups, await run_script_batch(self.redis, script, calls), strict=True):
                yield ScopeGroup(
                    group,
                    int(count),
                    serials,
                    [
                        (flat[i].decode(), PackValue.decode(flat[i + 1]), Whereabouts.decode(flat[i + 2], flat[i + 3]))
                        for i in range(0, len(flat), 4)
                    ],
                )

    async def add_recall_rule(self, gtin: str, recall_id: str, index: int, where: ScopeFilter) -> None:
        """Makes the packs of ``gtin`` that match ``where`` AND are members of the recall (see
        ``scan_scope``) recalled: one write, whatever the number of packs."""
        await self.redis.hset(recall_rules_key(gtin), f"{recall_id}:{index}", where.encode())

    async def recall_units(self, units: Sequence[tuple[str, str]], recall_id: str) -> None:
        """Marks units recalled one by one (pipelined; lot recalls use ``recall_lots``)."""
        for start in range(0, len(units), 10_000):
            pipe = self.redis.pipeline(transaction=False)
            for gtin, serial in units[start : start + 10_000]:
                pipe.hset(pack_recall_key(gtin, serial), serial, recall_id)
            await pipe.execute()

    async def recall_lots(self, lots: Sequence[tuple[str, str]]) -> None:
        """A lot recall is one write per (GTIN, lot), whatever the number of packs."""
        pipe = self.redis.pipeline(transaction=False)
        for gtin, lot in lots:
            pipe.hset(lot_state_key(gtin), lot, PackState.RECALLED.stored)
        await pipe.execute()


def require_packable(serials: Sequence[bytes]) -> None:
    """Scripts read packs as lines ending in the serial: a serial must be there and hold no line
    break (serials are validated long before; this guards the format)."""
    if not all(serials) or b"\n" in b"".join(serials):
        raise InvalidInput(
            "Failed to read packs: expected serials of 1 or more characters without line breaks.",
            code="pack.serial",
            field="serial",
        )


def require_packs(packs: Sequence[NewPack], limit: int) -> None:
    if not packs:
        raise InvalidInput("Failed to commission: expected at least one pack, got none.", field="packs")
    if len(packs) > limit:
        raise InvalidInput(
            f"Failed to commission: expected at most {limit} packs a request, got {len(packs)}.",
            code="packs.too_many",
            field="packs",
        )
