"""Chain of custody from EPCIS events: aggregation into cases and pallets, custody moves
(shipping, receiving) and the pack-state changes events carry (decommissioning, destroying,
dispensing), validated against stored state as a whole before anything is written.

A :class:`Capture` reads a document's events in chunks (``add``), checks each one against what
is stored plus the effects of the events before it (an overlay kept in memory: one small
entry per unit and case touched, never the document), and writes everything at the end
(``finish``) only if no event was refused. An event on a case or pallet applies to every
unit inside it, recursively.

Key layout (beside those of :mod:`verinet.recall_status.packs`; keys of a GTIN carry
``{gtin}``, keys of a logistic unit ``{sscc}``, keys of a partner ``{partner...}``, so every
key, script and pipeline is Redis Cluster safe):

``agg:{S}``                set    children of SSCC S: ``u<GTIN-14><serial>`` units and
                                  ``c<SSCC-18>`` cases or pallets
``ctr:{S}``                string SSCC that S is packed in
``aggp:{G}:<bucket>``      hash   serial -> SSCC the unit is packed in
``cus:{G}:<bucket>``       hash   serial -> custody: ``H|<partner>|<gln>`` held, or
                                  ``T|<partner>|<gln>|<GLN>,<GLN>`` shipped by that partner
                                  from that GLN to those destinations, not yet received.
                                  No entry: held by the product's manufacturer.
``epcisseen:{P:<hh>}``     set    16-byte digests of the eventIDs and event hashes partner P
                                  captured, in 256 shards by their first byte
``epcislock:{P}``          string held while a capture of partner P runs

Custody events and history use the encodings of :meth:`PackRepository.record_events`, so a
pack's history shows custody events beside verifications and decommissions. Shipping,
receiving and the custodian's state changes are custody events (they set the last custody
event and clear the sightings before it); a state change by another partner is recorded as a
possession-attested sighting; packing and unpacking only add to the history (they do not move
a unit). History entries keep other partners apart from the text: a shipment's destinations
in ``to``, a receipt's senders in ``from`` and ``from_partners``, so that a history can be
shown to each partner without them (README "Custody, sightings and visibility"). Refusals
never name another partner or its GLN. Commissioning writes the pack only, as ``/v1/packs/commission``
does: a unit the manufacturer never shipped stays "not yet shipped" for a recall.
State changes are decided by :func:`verinet.lifecycle.decide` and applied by
:func:`verinet.pack_operations.run_operation`, the functions of the pack API.

Past 500 lines, three ideas: the custody model (``CustodyEvent``, ``Custody``, refusals and
outcomes), the rules that check an event against the overlay (``Capture._process`` and the steps
it calls), and the store (``Capture._load_*``, ``Capture._write_*``). It would be cut there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from redis.asyncio.cluster import RedisCluster

from verinet.callers import Caller
from verinet.epc import describe_container, is_case_container
from verinet.errors import Conflict
from verinet.lifecycle import LastDecommission, Operation, decide
from verinet.pack_operations import Change, PackQuestion, ReadPack, run_operation
from verinet.packs import PackRecord, PackState
from verinet.recall_status import event_store
from verinet.recall_status.packs import (
    HISTORY_LIMIT,
    PACK_CODEC_LUA,
    RECORD_ONE_LUA,
    DecommissionRecord,
    NewPack,
    PackChange,
    PackEventData,
    PackRepository,
    PackValue,
    bucket_key,
    bucket_of,
    lot_state_key,
    product_key,
)
from verinet.store import run_script_batch

MAX_REFUSALS = 100
SCRIPT_CHUNK = 500  # units per script call (all keys of one GTIN: one cluster slot)
LOCK_MILLISECONDS = 600_000
WRITE_CHUNK = 5_000

#: Business steps that change a pack's state, and the state they set. ``decommissioning``
#: takes its state from the disposition (:data:`STATE_BY_DISPOSITION`).
STATE_BY_STEP = {
    "destroying": PackState.DESTROYED,
    "dispensing": PackState.SUPPLIED,
    "retail_selling": PackState.SUPPLIED,
    "sampling": PackState.SAMPLE,
}
STATE_BY_DISPOSITION = {
    "dispensed": PackState.SUPPLIED,
    "retail_sold": PackState.SUPPLIED,
    "destroyed": PackState.DESTROYED,
    "disposed": PackState.DESTROYED,
    "stolen": PackState.STOLEN,
}
CUSTODY_STEPS = frozenset({"shipping", "receiving"})
SUPPORTED_STEPS = frozenset(
    {"commissioning", "packing", "unpacking", "decommissioning", *CUSTODY_STEPS, *STATE_BY_STEP}
)

_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Reads a chunk of one GTIN's units. KEYS: the product, then per unit its pack bucket and its
# custody hash. ARGV: the serials. Returns the owner, then per unit its pack value and custody.
_READ_UNITS = PACK_CODEC_LUA + """
local out = {redis.call('HGET', KEYS[1], 'owner')}
local contexts = contexts_of(KEYS[1])
for i = 1, #ARGV do
  out[#out + 1] = expand(contexts, redis.call('HGET', KEYS[2 * i], ARGV[i]))
  out[#out + 1] = redis.call('HGET', KEYS[2 * i + 1], ARGV[i])
end
return out
"""

# Reads one field per key. KEYS: hashes. ARGV: the field of each.
_READ_FIELDS = """
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HGET', KEYS[i], ARGV[i]) end
return out
"""

# Sets (or, with an empty value, removes) one field per key to one value. KEYS: hashes.
# ARGV: the value, then the field of each hash.
_SET_FIELDS = """
local value = ARGV[1]
for i = 1, #KEYS do
  if value == '' then redis.call('HDEL', KEYS[i], ARGV[i + 1])
  else redis.call('HSET', KEYS[i], ARGV[i + 1], value) end
end
return 1
"""

# Records a chunk of one GTIN's unit-events, in order, as PackRepository.record_events does
# (same encodings and record codes, the history capped alike), sending each event's entry
# once. KEYS: the GTIN's product hash (it names the slot). ARGV: history limit, n, then n
# triples (record code, place, history entry), then per unit its serial, bucket (4 hex) and
# triple number (from 1).
_RECORD = RECORD_ONE_LUA + """
local limit, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local tag = string.match(KEYS[1], '{[^}]*}')
local base = 2 + 3 * n
for i = 0, (#ARGV - base) / 3 - 1 do
  local serial, bucket, e = ARGV[base + 1 + 3 * i], ARGV[base + 2 + 3 * i], tonumber(ARGV[base + 3 + 3 * i])
  record_one(tag, bucket, serial, ARGV[3 * e], ARGV[1 + 3 * e], ARGV[2 + 3 * e], limit)
end
return 1
"""


def aggregation_key(sscc: str) -> str:
    return f"agg:{{{sscc}}}"


def container_parent_key(sscc: str) -> str:
    return f"ctr:{{{sscc}}}"


def unit_parent_key(gtin: str, serial: str) -> str:
    return f"aggp:{{{gtin}}}:{bucket_of(serial):04x}"


def custody_key(gtin: str, serial: str) -> str:
    return f"cus:{{{gtin}}}:{bucket_of(serial):04x}"


def seen_key(partner_id: str, digest: bytes) -> str:
    return f"epcisseen:{{{partner_id}:{digest[0]:02x}}}"


def lock_key(partner_id: str) -> str:
    return f"epcislock:{{{partner_id}}}"


def target_state(biz_step: str, disposition: str) -> PackState | None:
    """The pack state an event sets, or ``None`` when it sets none (or names none)."""
    if biz_step == "decommissioning":
        return STATE_BY_DISPOSITION.get(disposition)
    return STATE_BY_STEP.get(biz_step)


def split_unit(key: str) -> tuple[str, str]:
    """``<GTIN-14><serial>`` -> (gtin, serial)."""
    return key[:14], key[14:]


#: The partner submitting the document (its id, roles and GLNs): the shared caller value.
Actor = Caller


@dataclass(frozen=True, slots=True)
class Party:
    """A source or destination: ``owning_party``, ``possessing_party`` or ``location``."""

    type: str
    gln: str


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    """An EPCIS event reduced to what custody needs (the gateway reads and checks the JSON)."""

    index: int
    event_id: str
    event_hash: bytes
    type: str
    action: str
    biz_step: str
    disposition: str
    event_time: float
    location_gln: str
    units: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()
    parent: str = ""
    sources: tuple[Party, ...] = ()
    destinations: tuple[Party, ...] = ()
    biz_transactions: tuple[str, ...] = ()
    lot: str = ""
    expiry: str = ""
    notes: tuple[str, ...] = ()  # facts kept with the history entry (a DSCSA shipment's statement)


@dataclass(frozen=True, slots=True)
class Refusal:
    index: int
    event_id: str
    code: str
    message: str
    kind: str  # invalid, forbidden or conflict


@dataclass
class CaptureOutcome:
    applied: bool
    events: int = 0
    duplicates: int = 0
    unit_events: int = 0
    commissioned: int = 0
    state_changes: int = 0
    refused: int = 0
    refusals: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Custody:
    """Who holds a unit, or who shipped it where. ``status`` H (held) or T (in transit)."""

    status: str
    partner_id: str
    gln: str
    destinations: tuple[str, ...] = ()

    def encode(self) -> str:
        text = f"{self.status}|{self.partner_id}|{self.gln}"
        return text + "|" + ",".join(self.destinations) if self.status == "T" else text

    @classmethod
    def decode(cls, raw: bytes) -> Custody:
        status, partner, gln, *rest = raw.decode().split("|", 3)
        return cls(status, partner, gln, tuple(d for d in (rest[0] if rest else "").split(",") if d))


class Refused(Exception):
    """One event's refusal; the capture collects them and writes nothing."""

    def __init__(self, code: str, message: str, kind: str = "conflict") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind


@dataclass(slots=True)
class _History:
    """One event's history entry for a list of units (the entry is shared, not copied);
    ``record`` is its record code (``packs.RECORD_CODES``), ``extra`` more entry fields."""

    event: str
    partner_id: str
    gln: str
    at: float
    detail: str
    units: list[str]
    record: str
    extra: dict[str, Any] = field(default_factory=dict)


def _describe(key: str) -> str:
    gtin, serial = split_unit(key)
    return f"serial {serial!r} of GTIN {gtin}"


def _by_gtin(units: Iterable[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for key in units:
        groups.setdefault(key[:14], []).append(key)
    return groups


def _glns(parties: Iterable[Party]) -> list[str]:
    return list(dict.fromkeys(p.gln for p in parties))


async def run_in_order(redis: Any, script: Any, calls: dict[str, list[tuple[list[str], list[Any]]]]) -> None:
    """Runs script calls so that the calls of one group (one GTIN) run in the order given:
    pipelined on a standalone Redis, in batches; on a cluster, each group in turn, the groups
    concurrently (a cluster pipeline takes no scripts, and concurrent calls may reorder)."""
    if isinstance(redis, RedisCluster):

        async def group(items: list[tuple[list[str], list[Any]]]) -> None:
            for keys, args in items:
                await script(keys=keys, args=args)

        groups = list(calls.values())
        for start in range(0, len(groups), 64):
            await asyncio.gather(*(group(g) for g in groups[start : start + 64]))
        return
    flat = [call for items in calls.values() for call in items]
    for start in range(0, len(flat), 64):
        await run_script_batch(redis, script, flat[start : start + 64])


class Capture:
    """One document's capture: ``begin``, ``add`` chunks in order, then ``finish``."""

    def __init__(
        self,
        repository: PackRepository,
        actor: Actor,
        now: dt.datetime,
        *,
        max_refusals: int = MAX_REFUSALS,
    ) -> None:
        self.repository = repository
        self.redis = repository.redis
        self.actor = actor
        self.now = now
        self.max_refusals = max_refusals
        self.outcome = CaptureOutcome(applied=False)
        self._lock_token = ""
        # The overlay: stored state as loaded, changed by the events accepted so far. A unit's
        # pack is kept as stored (bytes, decoded when a rule needs its fields) or as commissioned.
        self.values: dict[str, PackValue | bytes | None] = {}
        self._custody_codes: dict[bytes, Custody] = {}
        self.custody: dict[str, Custody | None] = {}
        self.unit_parent: dict[str, str] = {}
        self.children: dict[str, set[str]] = {}
        self.container_parent: dict[str, str] = {}
        self.owners: dict[str, str] = {}
        self.records: dict[str, tuple[PackRecord, LastDecommission | None]] = {}
        self.gtin_states: dict[str, tuple[PackState, dict[str, PackState]]] = {}
        # what to write when the document is accepted
        self.new_packs: list[NewPack] = []
        self.history: list[_History] = []
        self.state_changes: dict[tuple[PackState, str, str], list[str]] = {}
        self.dirty_custody: set[str] = set()
        self.dirty_unit_parent: set[str] = set()
        self.dirty_children: set[str] = set()
        self.dirty_container_parent: set[str] = set()
        self.seen_now: set[bytes] = set()
        # applied events with the partners who may query them (event_store)
        self.queryable: list[tuple[CustodyEvent, set[str]]] = []

    # -- lifecycle ----------------------------------------------------------------------------

    async def begin(self) -> None:
        """Takes the partner's capture lock: one capture at a time per partner."""
        token = secrets.token_hex(8)
        taken = await self.redis.set(
            lock_key(self.actor.partner_id), token, nx=True, px=LOCK_MILLISECONDS
        )
        if not taken:
            raise Conflict(
                "Another EPCIS capture of yours is in progress; retry when it has finished.",
                code="epcis.capture_in_progress",
            )
        self._lock_token = token

    async def release(self) -> None:
        if self._lock_token:
            script = self.redis.register_script(_RELEASE_LOCK)
            await script(keys=[lock_key(self.actor.partner_id)], args=[self._lock_token])
            self._lock_token = ""

    async def add(self, events: Sequence[CustodyEvent]) -> None:
        """Checks a chunk of events, in order, against stored state and the events before."""
        if not events:
            return
        if self._lock_token:
            await self.redis.pexpire(lock_key(self.actor.partner_id), LOCK_MILLISECONDS)
        self.outcome.events += len(events)
        fresh = await self._drop_duplicates(events)
        await self._load(fresh)
        for event in fresh:
            viewers = self._viewers(event)
            try:
                self._process(event)
            except Refused as refusal:
                self._refuse(event, refusal)
            else:
                self.queryable.append((event, viewers))

    async def finish(self, commit: bool) -> CaptureOutcome:
        """Writes everything if ``commit`` and no event was refused; else writes nothing."""
        if not commit or self.outcome.refused:
            return self.outcome
        await self._write()
        self.outcome.applied = True
        return self.outcome

    def _refuse(self, event: CustodyEvent, refusal: Refused) -> None:
        self.outcome.refused += 1
        if len(self.outcome.refusals) < self.max_refusals:
            self.outcome.refusals.append(
                Refusal(event.index, event.event_id, refusal.code, refusal.message, refusal.kind)
            )

    # -- duplicates ---------------------------------------------------------------------------

    @staticmethod
    def digests(event: CustodyEvent) -> list[bytes]:
        found = [event.event_hash[:16]] if event.event_hash else []
        if event.event_id:
            found.append(hashlib.sha256(b"eventID\x00" + event.event_id.encode()).digest()[:16])
        return found

    async def _drop_duplicates(self, events: Sequence[CustodyEvent]) -> list[CustodyEvent]:
        partner = self.actor.partner_id
        asked = [self.digests(event) for event in events]
        shards: dict[str, list[bytes]] = {}
        for digests in asked:
            for digest in digests:
                shards.setdefault(seen_key(partner, digest), []).append(digest)
        stored: set[bytes] = set()
        if shards:
            pipe = self.redis.pipeline(transaction=False)
            for key, members in shards.items():
                pipe.smismember(key, members)
            for members, found in zip(shards.values(), await pipe.execute(), strict=True):
                stored.update(m for m, hit in zip(members, found, strict=True) if hit)
        fresh = []
        for event, digests in zip(events, asked, strict=True):
            if any(d in stored or d in self.seen_now for d in digests):
                self.outcome.duplicates += 1
                continue
            self.seen_now.update(digests)
            fresh.append(event)
        return fresh

    # -- loading stored state -----------------------------------------------------------------

    async def _load(self, events: Sequence[CustodyEvent]) -> None:
        containers = {c for e in events for c in (*e.containers, e.parent) if c}
        await self._load_containers(containers)
        units = {u for e in events for u in e.units}
        for sscc in containers:
            units.update(self._units_inside(sscc))
        await self._load_units([u for u in units if u not in self.values])
        packed = {u for e in events if e.type == "AggregationEvent" and e.action == "ADD" for u in e.units}
        await self._load_parents([u for u in packed if u not in self.unit_parent])
        changing = {
            u
            for e in events
            if target_state(e.biz_step, e.disposition) is not None
            for u in self._expand_quietly(e)
        }
        await self._load_records([u for u in changing if u not in self.records])

    async def _load_containers(self, ssccs: Iterable[str]) -> None:
        pending = [s for s in set(ssccs) if s not in self.children]
        while pending:
            pipe = self.redis.pipeline(transaction=False)
            for sscc in pending:
                pipe.smembers(aggregation_key(sscc))
                pipe.get(container_parent_key(sscc))
            replies = await pipe.execute()
            found: set[str] = set()
            for n, sscc in enumerate(pending):
                members = {m.decode() for m in replies[2 * n]}
                parent = replies[2 * n + 1]
                self.children[sscc] = members
                self.container_parent[sscc] = parent.decode() if parent else ""
                found.update(m[1:] for m in members if m[0] == "c")
                if self.container_parent[sscc]:
                    found.add(self.container_parent[sscc])
            pending = [s for s in found if s not in self.children]

    async def _load_units(self, units: Sequence[str]) -> None:
        calls: list[tuple[list[str], list[Any]]] = []
        chunks: list[tuple[str, list[str]]] = []
        for gtin, keys in _by_gtin(units).items():
            for start in range(0, len(keys), SCRIPT_CHUNK):
                chunk = keys[start : start + SCRIPT_CHUNK]
                script_keys = [product_key(gtin)]
                serials = []
                for key in chunk:
                    serial = key[14:]
                    script_keys += [bucket_key(gtin, serial), custody_key(gtin, serial)]
                    serials.append(serial)
                calls.append((script_keys, serials))
                chunks.append((gtin, chunk))
        if not calls:
            return
        replies = await run_script_batch(self.redis, self.redis.register_script(_READ_UNITS), calls)
        for (gtin, chunk), reply in zip(chunks, replies, strict=True):
            self.owners[gtin] = reply[0].decode() if reply[0] else ""
            for n, key in enumerate(chunk):
                value, custody = reply[1 + 2 * n], reply[2 + 2 * n]
                self.values[key] = value
                if custody:
                    known = self._custody_codes.get(custody)
                    if known is None:  # a shipment's units share one code: decode it once
                        if len(self._custody_codes) >= 10_000:
                            self._custody_codes.clear()
                        known = self._custody_codes[custody] = Custody.decode(custody)
                    self.custody[key] = known
                else:
                    self.custody[key] = None

    async def _load_parents(self, units: Sequence[str]) -> None:
        """The case each unit is packed in, for units about to be packed."""
        calls: list[tuple[list[str], list[Any]]] = []
        chunks: list[list[str]] = []
        for gtin, keys in _by_gtin(units).items():
            for start in range(0, len(keys), SCRIPT_CHUNK):
                chunk = keys[start : start + SCRIPT_CHUNK]
                calls.append(([unit_parent_key(gtin, u[14:]) for u in chunk], [u[14:] for u in chunk]))
                chunks.append(chunk)
        if not calls:
            return
        replies = await run_script_batch(self.redis, self.redis.register_script(_READ_FIELDS), calls)
        for chunk, reply in zip(chunks, replies, strict=True):
            for key, parent in zip(chunk, reply, strict=True):
                self.unit_parent[key] = parent.decode() if parent else ""

    async def _load_records(self, units: Sequence[str]) -> None:
        """Full records (batch and product state, last decommission) for state changes."""
        stored = [u for u in units if self.values.get(u) is not None]
        for start in range(0, len(stored), WRITE_CHUNK):
            chunk = stored[start : start + WRITE_CHUNK]
            answers = await self.repository.statuses(
                [split_unit(u) for u in chunk], with_decommission=True
            )
            for key, answer in zip(chunk, answers, strict=True):
                if answer is None:  # pragma: no cover - read just before
                    continue
                last = answer.last_decommission
                self.records[key] = (
                    answer.record,
                    LastDecommission(
                        last.state, last.partner_id, last.location_gln, dt.datetime.fromtimestamp(last.at, dt.UTC)
                    )
                    if last
                    else None,
                )
        fresh_gtins = sorted({u[:14] for u in units if u not in self.records} - self.gtin_states.keys())
        if fresh_gtins:
            pipe = self.redis.pipeline(transaction=False)
            for gtin in fresh_gtins:
                pipe.hget(product_key(gtin), "state")
                pipe.hgetall(lot_state_key(gtin))
            replies = await pipe.execute()
            for n, gtin in enumerate(fresh_gtins):
                product_state, lots = replies[2 * n], replies[2 * n + 1]
                self.gtin_states[gtin] = (
                    PackState.from_stored(product_state.decode()) if product_state else PackState.ACTIVE,
                    {k.decode(): PackState.from_stored(v.decode()) for k, v in lots.items()},
                )

    # -- expansion ----------------------------------------------------------------------------

    def _units_inside(self, sscc: str, seen: set[str] | None = None) -> list[str]:
        seen = set() if seen is None else seen
        if sscc in seen:
            return []
        seen.add(sscc)
        found = []
        for member in self.children.get(sscc, ()):
            if member[0] == "u":
                found.append(member[1:])
            else:
                found.extend(self._units_inside(member[1:], seen))
        return found

    def _event_epcs(self, event: CustodyEvent) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The units and containers an event is about (an observed aggregation: parent too)."""
        if event.type == "AggregationEvent" and event.action == "OBSERVE" and event.parent:
            return event.units, (event.parent, *event.containers)
        return event.units, event.containers

    def _expand_quietly(self, event: CustodyEvent) -> list[str]:
        units, containers = self._event_epcs(event)
        found = list(units)
        for sscc in containers:
            found.extend(self._units_inside(sscc))
        return found

    def _expand(self, event: CustodyEvent) -> list[str]:
        """Every unit the event applies to, each once; all must be commissioned here."""
        units, containers = self._event_epcs(event)
        found = dict.fromkeys(units)
        for sscc in containers:
            inside = self._units_inside(sscc)
            if not inside and not is_case_container(sscc):  # an empty case is the case alone
                raise Refused(
                    "aggregation.unknown_container",
                    f"SSCC {sscc} holds no unit known here: pack units into it (an "
                    "AggregationEvent with action ADD) before naming it in an event.",
                )
            found.update(dict.fromkeys(inside))
        self._require_commissioned(found)
        return list(found)

    def _require_commissioned(self, units: Iterable[str]) -> None:
        unknown = [u for u in units if self.values.get(u) is None]
        if unknown:
            more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            raise Refused(
                "pack.not_commissioned",
                f"{_describe(unknown[0])}{more} is not commissioned in this network: "
                "commission it first (commissioning event or POST /v1/packs/commission).",
            )

    # -- rules --------------------------------------------------------------------------------

    def _process(self, event: CustodyEvent) -> None:
        if not event.location_gln:
            raise Refused("epcis.location", "The event names no location (readPoint or bizLocation).", "invalid")
        if event.type == "AggregationEvent" and event.action == "ADD":
            self._pack(event)
        elif event.type == "AggregationEvent" and event.action == "DELETE":
            self._unpack(event)
        elif event.biz_step == "commissioning":
            self._commission(event)
        elif event.biz_step == "shipping":
            self._ship(event)
        elif event.biz_step == "receiving":
            self._receive(event)
        else:
            target = target_state(event.biz_step, event.disposition)
            if target is None:
                raise Refused(
                    "epcis.biz_step",
                    f"bizStep {event.biz_step!r} with disposition {event.disposition!r} is not "
                    "one verinet applies.",
                    "invalid",
                )
            self._change_state(event, target)

    def _value(self, key: str) -> PackValue | None:
        value = self.values.get(key)
        if isinstance(value, bytes):
            value = self.values[key] = PackValue.decode(value)
        return value

    def _holder(self, key: str) -> Custody:
        custody = self.custody.get(key)
        if custody is not None:
            return custody
        return Custody("H", self.owners.get(key[:14], ""), "")

    def _require_held(self, units: Iterable[str]) -> None:
        for key in units:
            custody = self._holder(key)
            if custody.status == "T":
                raise Refused(
                    "custody.in_transit",
                    f"{_describe(key)} is in transit and not yet received.",
                )
            if custody.partner_id != self.actor.partner_id:
                raise Refused("custody.not_held", f"{_describe(key)} is not held by you.")

    def _commission(self, event: CustodyEvent) -> None:
        if event.action != "ADD":
            raise Refused("epcis.action", "A commissioning event has action ADD.", "invalid")
        for gtin in sorted({u[:14] for u in event.units}):
            owner = self.owners.get(gtin, "")
            if not owner:
                raise Refused(
                    "product.not_registered",
                    f"GTIN {gtin} is not a hosted product: register it with PUT "
                    f"/v1/products/{gtin} first.",
                )
            if owner != self.actor.partner_id and not self.actor.is_admin:
                raise Refused(
                    "product.foreign_owner",
                    f"GTIN {gtin} belongs to another manufacturer.",
                    "forbidden",
                )
        fresh = []
        for key in event.units:
            stored = self._value(key)
            if stored is None:
                fresh.append(key)
            elif stored.lot != event.lot or stored.expiry != event.expiry:
                raise Refused(
                    "pack.conflict",
                    f"{_describe(key)} is already commissioned with lot {stored.lot!r} and expiry "
                    f"{stored.expiry!r}, got lot {event.lot!r} and expiry {event.expiry!r}.",
                )
        minute = int(event.event_time // 60)
        for key in fresh:
            gtin, serial = split_unit(key)
            self.values[key] = PackValue(PackState.ACTIVE, event.expiry, event.lot, "", minute)
            self.new_packs.append(NewPack(gtin, serial, event.lot, event.expiry, "", event.event_time))
        self.outcome.commissioned += len(event.units)
        self.outcome.unit_events += len(event.units)

    def _ancestors(self, sscc: str) -> list[str]:
        chain = []
        while sscc and sscc not in chain:
            chain.append(sscc)
            sscc = self.container_parent.get(sscc, "")
        return chain

    def _pack(self, event: CustodyEvent) -> None:
        parent = event.parent
        if not event.units and not event.containers:
            raise Refused("aggregation.empty", "Packing needs childEPCs.", "invalid")
        above = self._ancestors(parent)
        for child in event.containers:
            if child in above:
                raise Refused(
                    "aggregation.cycle",
                    f"SSCC {child} cannot be packed into SSCC {parent}: it is {parent} or holds it.",
                    "invalid",
                )
            current = self.container_parent.get(child, "")
            if current not in ("", parent):
                raise Refused(
                    "aggregation.already_packed",
                    f"SSCC {child} is packed in SSCC {current}: unpack it first.",
                )
        self._require_commissioned(event.units)
        for key in event.units:
            current = self.unit_parent.get(key, "")
            if current not in ("", parent):
                raise Refused(
                    "aggregation.already_packed",
                    f"{_describe(key)} is packed in SSCC {current}: unpack it first.",
                )
        self._require_held(event.units)
        members = self.children.setdefault(parent, set())
        for key in event.units:
            members.add("u" + key)
            self.unit_parent[key] = parent
        self.dirty_unit_parent.update(event.units)
        for child in event.containers:
            members.add("c" + child)
            self.container_parent[child] = parent
        self.dirty_container_parent.update(event.containers)
        self.dirty_children.add(parent)
        units = list(dict.fromkeys([*event.units, *(u for c in event.containers for u in self._units_inside(c))]))
        self._record(event, "packing", units, f"packed into {describe_container(parent)}", "S")

    def _unpack(self, event: CustodyEvent) -> None:
        parent = event.parent
        members = self.children.get(parent, set())
        if not members:
            raise Refused(
                "aggregation.unknown_container",
                f"SSCC {parent} holds nothing known here: there is nothing to unpack.",
            )
        named = [f"u{u}" for u in event.units] + [f"c{c}" for c in event.containers]
        for member in named:
            if member not in members:
                what = _describe(member[1:]) if member[0] == "u" else f"SSCC {member[1:]}"
                raise Refused(
                    "aggregation.not_packed", f"{what} is not packed in SSCC {parent}."
                )
        removed = named or sorted(members)
        units: list[str] = []
        for member in removed:
            members.discard(member)
            if member[0] == "u":
                self.unit_parent[member[1:]] = ""
                self.dirty_unit_parent.add(member[1:])
                units.append(member[1:])
            else:
                self.container_parent[member[1:]] = ""
                self.dirty_container_parent.add(member[1:])
                units.extend(self._units_inside(member[1:]))
        self.dirty_children.add(parent)
        self._record(event, "unpacking", units, f"unpacked from {describe_container(parent)}", "S")

    def _ship(self, event: CustodyEvent) -> None:
        units = self._expand(event)
        self._require_held(units)
        destinations = tuple(_glns(event.destinations))
        moved = Custody("T", self.actor.partner_id, event.location_gln, destinations)
        for key in units:
            self.custody[key] = moved
        self.dirty_custody.update(units)
        self._record(event, "shipping", units, "", "L", {"to": list(destinations)})

    def _receive(self, event: CustodyEvent) -> None:
        units = self._expand(event)
        mine = set(self.actor.glns)
        senders: dict[tuple[str, str], None] = {}
        for key in units:
            custody = self._holder(key)
            if custody.status != "T":
                raise Refused(
                    "custody.not_shipped",
                    f"{_describe(key)} is not in transit (it was never shipped, or was received "
                    "already): no shipping event precedes this receiving.",
                )
            if custody.destinations and not mine.intersection(custody.destinations):
                raise Refused(
                    "custody.foreign_destination",
                    f"{_describe(key)} was not shipped to one of your GLNs.",
                    "forbidden",
                )
            senders[(custody.partner_id, custody.gln)] = None
        held = Custody("H", self.actor.partner_id, event.location_gln)
        for key in units:
            self.custody[key] = held
        self.dirty_custody.update(units)
        sources = {"from": list(dict.fromkeys(g for _, g in senders)), "from_partners": list(dict.fromkeys(p for p, _ in senders))}
        self._record(event, "receiving", units, "", "L", sources)

    def _record_of(self, key: str) -> tuple[PackRecord, LastDecommission | None]:
        known = self.records.get(key)
        if known is not None:
            return known
        value = self._value(key)
        assert value is not None
        gtin, serial = split_unit(key)
        product_state, lots = self.gtin_states.get(key[:14], (PackState.ACTIVE, {}))
        record = PackRecord(
            gtin=gtin,
            serial=serial,
            lot=value.lot,
            expiry=value.expiry,
            pack_state=value.state,
            lot_state=lots.get(value.lot, PackState.ACTIVE),
            product_state=product_state,
            owner_partner_id=self.owners.get(gtin, ""),
        )
        return record, None

    def _change_state(self, event: CustodyEvent, target: PackState) -> None:
        units = self._expand(event)
        caller = replace(self.actor, location_gln=event.location_gln)
        decided = []
        for key in units:
            record, last = self._record_of(key)
            decision = decide(
                Operation.DECOMMISSION,
                record=record,
                caller=caller,
                now=self.now,
                target=target,
                last_decommission=last,
            )
            if not decision.ok:
                kind = "forbidden" if decision.code.startswith("VERINET_ROLE") else "conflict"
                raise Refused(decision.code, f"{_describe(key)}: {decision.message}", kind)
            decided.append((key, record, decision.new_pack_state))
        changed = []
        for key, record, new_state in decided:
            if new_state is None:  # a repeated scan: nothing changes
                continue
            changed.append(key)
            self.records[key] = (
                PackRecord(
                    record.gtin,
                    record.serial,
                    record.lot,
                    record.expiry,
                    new_state,
                    record.lot_state,
                    record.product_state,
                    record.owner_partner_id,
                ),
                LastDecommission(new_state, self.actor.partner_id, event.location_gln, self.now),
            )
        group = (target, event.location_gln, event.event_id or f"epcis event {event.index}")
        self.state_changes.setdefault(group, []).extend(changed)
        self.outcome.state_changes += len(changed)
        # The custodian's state change is a custody event; anyone else's an attested sighting.
        held = [k for k in units if self._holder(k).partner_id == self.actor.partner_id]
        others = [k for k in units if self._holder(k).partner_id != self.actor.partner_id]
        for keys, code in ((held, "L"), (others, "P")):
            if keys:
                self._record(event, event.biz_step, keys, f"state {target.value}", code)

    def _record(self, event: CustodyEvent, name: str, units: list[str], detail: str, code: str, extra: dict[str, Any] | None = None) -> None:
        parts = [detail, *event.biz_transactions, *event.notes]
        if event.event_id:
            parts.append(f"eventID {event.event_id}")
        text = "; ".join(p for p in parts if p)
        self.history.append(
            _History(name, self.actor.partner_id, event.location_gln, event.event_time, text[:500], units, code, extra or {})
        )
        self.outcome.unit_events += len(units)

    # -- writing ------------------------------------------------------------------------------

    async def _write(self) -> None:
        # Stored as the commissioning API stores them, a bounded number of script calls a round trip.
        step = 64 * SCRIPT_CHUNK
        for start in range(0, len(self.new_packs), step):
            outcomes = await self.repository.commission(self.new_packs[start : start + step])
            if any(outcome.status == "conflict" for outcome in outcomes):
                raise Conflict(  # pragma: no cover - a concurrent commissioning
                    "A pack of the document was commissioned differently while it was being "
                    "captured; the packs before it were written.",
                    code="epcis.concurrent_change",
                )
        # The packs exist now; the rest touches disjoint keys, so it is written concurrently.
        await asyncio.gather(
            self._write_state_changes(), self._write_aggregation(), self._write_history(), self._write_seen(),
            self._write_queryable(),
        )

    async def _write_queryable(self) -> None:
        for start in range(0, len(self.queryable), WRITE_CHUNK):
            chunk = self.queryable[start : start + WRITE_CHUNK]
            await event_store.store(
                self.redis,
                self.actor.partner_id,
                [(event_store.epcis_event(e, self.actor.partner_id), e.event_time, v) for e, v in chunk],
            )

    def _viewers(self, event: CustodyEvent) -> set[str]:
        """Who may query the event: its capturer, the manufacturers of its units, and whoever
        holds them as it happens (before it changes custody)."""
        units = self._expand_quietly(event)
        viewers = {self.actor.partner_id}
        viewers.update(self.owners.get(key[:14], "") for key in units)
        viewers.update(self._holder(key).partner_id for key in units)
        return viewers

    async def _write_state_changes(self) -> None:
        now = self.now
        for (target, gln, transaction), units in self.state_changes.items():
            caller = replace(self.actor, location_gln=gln)

            async def write(changes: Sequence[Change], gln: str = gln, transaction: str = transaction) -> list[bool]:
                return await self._apply_changes(changes, gln, transaction)

            for start in range(0, len(units), 1000):
                questions = [PackQuestion(*split_unit(u), "", "") for u in units[start : start + 1000]]
                outcomes = await run_operation(
                    Operation.DECOMMISSION,
                    questions,
                    caller,
                    now,
                    self._read_for_operation,
                    write,
                    target,
                )
                late = next((d for d, _ in outcomes if not d.ok), None)
                if late is not None:  # pragma: no cover - a concurrent pack operation
                    raise Conflict(
                        f"A pack changed state while the document was being captured: "
                        f"{late.message} Events before it were written.",
                        code="epcis.concurrent_change",
                    )

    async def _read_for_operation(self, questions: Sequence[PackQuestion]) -> list[ReadPack]:
        answers = await self.repository.statuses(
            [(q.gtin, q.serial) for q in questions], with_decommission=True
        )
        reads = []
        for answer in answers:
            if answer is None:
                reads.append(ReadPack(None, None, b""))
                continue
            last = answer.last_decommission
            reads.append(
                ReadPack(
                    answer.record,
                    LastDecommission(last.state, last.partner_id, last.location_gln, dt.datetime.fromtimestamp(last.at, dt.UTC))
                    if last
                    else None,
                    answer.revision,
                )
            )
        return reads

    async def _apply_changes(self, changes: Sequence[Change], gln: str, transaction: str) -> list[bool]:
        at = self.now.timestamp()
        partner = self.actor.partner_id
        writes = []
        for change in changes:
            record = change.read.record
            new_state = change.decision.new_pack_state
            assert record is not None and new_state is not None
            writes.append(
                PackChange(
                    gtin=change.question.gtin,
                    serial=change.question.serial,
                    expected_revision=change.read.revision,
                    new_state=new_state,
                    decommission=DecommissionRecord(new_state, at, partner, gln)
                    if new_state is not PackState.ACTIVE
                    else None,
                    audit_entry=orjson.dumps(
                        {
                            "at": at,
                            "action": "decommission",
                            "gtin": change.question.gtin,
                            "serial": change.question.serial,
                            "partner": partner,
                            "location": gln,
                            "from": record.pack_state.value,
                            "to": new_state.value,
                            "transaction_id": transaction,
                        }
                    ),
                )
            )
        return await self.repository.apply(writes)

    async def _write_aggregation(self) -> None:
        """Cases and pallets (few) pipelined; units' custody and parents by script per GTIN."""
        pipe = self.redis.pipeline(transaction=False)
        for sscc in self.dirty_children:
            pipe.delete(aggregation_key(sscc))
            members = self.children.get(sscc, set())
            if members:
                pipe.sadd(aggregation_key(sscc), *members)
        for sscc in self.dirty_container_parent:
            parent = self.container_parent.get(sscc, "")
            if parent:
                pipe.set(container_parent_key(sscc), parent)
            else:
                pipe.delete(container_parent_key(sscc))
        if self.dirty_children or self.dirty_container_parent:
            await pipe.execute()
        # Units share a few values (one custody per event), so each value is sent once a chunk.
        by_value: dict[tuple[str, str], list[str]] = {}
        for key in self.dirty_custody:
            custody = self.custody.get(key)
            if custody is not None:
                by_value.setdefault(("c", custody.encode()), []).append(key)
        for key in self.dirty_unit_parent:
            by_value.setdefault(("p", self.unit_parent.get(key, "")), []).append(key)
        calls: list[tuple[list[str], list[Any]]] = []
        for (kind, value), keys in by_value.items():
            field_key = custody_key if kind == "c" else unit_parent_key
            for gtin, group in _by_gtin(keys).items():
                for start in range(0, len(group), SCRIPT_CHUNK):
                    chunk = group[start : start + SCRIPT_CHUNK]
                    calls.append(([field_key(gtin, u[14:]) for u in chunk], [value, *(u[14:] for u in chunk)]))
        for start in range(0, len(calls), 64):
            await run_script_batch(self.redis, self.redis.register_script(_SET_FIELDS), calls[start : start + 64])

    async def _write_history(self) -> None:
        """History in event order, with custody events and sightings by each event's record
        code. Same encodings as ``PackRepository.record_events`` (a test holds them equal),
        with each event's entry sent once per chunk instead of once per unit. Calls are built
        and sent a batch at a time, so memory stays bounded whatever the document's size."""
        script = self.redis.register_script(_RECORD)
        pending: dict[str, list[tuple[str, int]]] = {}  # GTIN -> (serial, entry number) in order
        entries: dict[int, tuple[str, str, bytes]] = {}
        ready: dict[str, list[tuple[list[str], list[Any]]]] = {}
        ready_calls = 0

        def call(gtin: str, units: list[tuple[str, int]]) -> tuple[list[str], list[Any]]:
            local: dict[int, int] = {}
            unit_args: list[Any] = []
            for serial, number in units:
                unit_args += [serial, f"{bucket_of(serial):04x}", local.setdefault(number, len(local) + 1)]
            table: list[Any] = []
            for number in local:  # insertion order: triple numbers 1, 2, ...
                table += entries[number]
            return [product_key(gtin)], [HISTORY_LIMIT, len(local), *table, *unit_args]

        async def flush() -> None:
            nonlocal ready_calls
            if ready:
                await run_in_order(self.redis, script, ready)
            ready.clear()
            ready_calls = 0
            used = {n for units in pending.values() for _, n in units}
            for number in [n for n in entries if n not in used]:
                del entries[number]

        for number, entry in enumerate(self.history):
            sample = PackEventData("", "", entry.event, entry.partner_id, entry.gln, entry.at, entry.detail, entry.record)
            entries[number] = (entry.record, sample.place, orjson.dumps(sample.as_dict() | entry.extra))
            for key in entry.units:
                gtin = key[:14]
                units = pending.setdefault(gtin, [])
                units.append((key[14:], number))
                if len(units) >= SCRIPT_CHUNK:
                    ready.setdefault(gtin, []).append(call(gtin, units))
                    del pending[gtin]
                    ready_calls += 1
                    if ready_calls >= 64:
                        await flush()
            if len(entries) >= 4 * SCRIPT_CHUNK:  # many small events: send what is waiting
                for gtin, units in pending.items():
                    ready.setdefault(gtin, []).append(call(gtin, units))
                pending.clear()
                await flush()
        for gtin, units in pending.items():
            ready.setdefault(gtin, []).append(call(gtin, units))
        pending.clear()
        await flush()

    async def _write_seen(self) -> None:
        partner = self.actor.partner_id
        shards: dict[str, list[bytes]] = {}
        for digest in self.seen_now:
            shards.setdefault(seen_key(partner, digest), []).append(digest)
        items = list(shards.items())
        for start in range(0, len(items), 256):
            pipe = self.redis.pipeline(transaction=False)
            for key, members in items[start : start + 256]:
                pipe.sadd(key, *members)
            await pipe.execute()
