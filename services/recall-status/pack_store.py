"""The hosted repository in Redis: products, commissioned packs and their states
(:class:`PackRepository`). Its keys are :mod:`verinet.recall_status.pack_keys`, its values
:mod:`verinet.recall_status.pack_values`, its Lua scripts
:mod:`verinet.recall_status.pack_scripts`.

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
:mod:`verinet.recall_status.custody_store`, else the product's owner) and an attested sighting
otherwise. The record scripts apply that rule, so it holds however events arrive.

One idea past 500 lines: each method is the Python half of one of the pack scripts, and they
share the key and value layout above. Were it cut, the event recording (``record_events``,
``record_event_batch``) would leave first.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis

from verinet.cooperative import Gaps, give_way
from verinet.errors import Forbidden, InvalidInput, NotFound, VerinetError
from verinet.packs import STATE_BY_STORED_CODE, PackRecord, PackState
from verinet.recall_status.pack_keys import (
    BUCKET_MASK,
    BUCKET_SUFFIXES,
    BUCKETS,
    HISTORY_LIMIT,
    MASTER_DATA_FIELD,
    audit_head_key,
    audit_key,
    bucket_key_at,
    bucket_of,
    history_key,
    location_key,
    lot_state_key,
    pack_recall_key,
    product_key,
    recall_members_key,
    recall_rules_key,
    sightings_key,
)
from verinet.recall_status.pack_scripts import PackScripts
from verinet.recall_status.pack_values import (
    FIELD_SEPARATOR,
    CommissionOutcome,
    DecommissionRecord,
    EventLines,
    Location,
    NewPack,
    PackChange,
    PackEventBatchData,
    PackEventData,
    PackValue,
    Product,
    ScopeFilter,
    ScopeGroup,
    StoredPack,
    Whereabouts,
    event_lines,
    require_record_code,
)
from verinet.store import reply_text_fields, run_script_batch

STATUS_CHUNK = 500
#: Events read or formatted between two turns of the event loop (``record_events`` and the
#: servicer's RecordPackEvents): about 0.1 ms.
YIELD_EVERY_EVENTS = 32
#: Sightings written to Redis in one piece, in a gap between status reads: about 0.2 ms of
#: Redis, then its log's sync.
SIGHTINGS_PER_WRITE = 64
#: How long a piece of sightings waits for a status read to end (at one question at a time
#: they end about every millisecond; busier, more often).
SIGHTINGS_GAP_WAIT_SECONDS = 0.003


SCOPE_GROUP = 128  # buckets a scope call reads: about 8,000 packs of a 1,000,000-pack GTIN
SCOPE_GROUPS = BUCKETS // SCOPE_GROUP


def scope_group_of(serial: str) -> int:
    """The scope call (and recall member group) that covers ``serial``."""
    return bucket_of(serial) // SCOPE_GROUP


COMMISSION_CHUNK = 2000


class PackRepository:
    """Products and packs of the manufacturers hosted in this network."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.scripts = PackScripts(redis)
        # The sightings' writes go in between the status reads (record_events).
        self.status_read_gaps = Gaps()

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
        fields = reply_text_fields(await self.redis.hgetall(product_key(gtin)))
        if not fields:
            return None
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
        suffixes = BUCKET_SUFFIXES
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
                    lines.append(suffixes[zlib.crc32(serial) & BUCKET_MASK] + number + serial)
                calls.append(
                    (
                        [f"ctx:{{{gtin}}}", f"ctxid:{{{gtin}}}"],
                        [f"pk:{{{gtin}}}:", b"\n".join(lines), *contexts],
                    )
                )
                chunks.append(chunk)
        replies = await run_script_batch(self.redis, self.scripts.commission, calls)
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
                lines = [BUCKET_SUFFIXES[zlib.crc32(serial) & BUCKET_MASK] + serial for serial in serials]
                calls.append((script_keys, [flag, b"\n".join(lines)]))
                chunks.append((gtin, chunk))
        replies = await run_script_batch(self.redis, self.scripts.status, calls)
        self.status_read_gaps.ended()
        records: list[StoredPack | None] = [None] * len(keys)
        for (gtin, chunk), reply in zip(chunks, replies, strict=True):
            fields = reply.split(b"\n")
            lot_lines = int(fields[2])
            first_pack = 3 + lot_lines
            if len(fields) != first_pack + 3 * len(chunk):
                raise VerinetError(
                    f"Failed to read packs of GTIN {gtin}: expected {first_pack + 3 * len(chunk)} lines from the "
                    f"status script, got {len(fields)}."
                )
            product_state = PackState.from_stored(fields[0].decode()) if fields[0] else PackState.ACTIVE
            owner = fields[1].decode()
            if owners is not None and owner:
                owners[gtin] = owner
            lot_states = {
                lot.decode(): PackState.from_stored(code.decode()) if code else PackState.ACTIVE
                for lot, code in zip(fields[3:first_pack:2], fields[4:first_pack:2], strict=True)
            }
            for n, i in enumerate(chunk):
                at = first_pack + 3 * n
                value = fields[at]
                if not value:
                    continue
                records[i] = self._stored(
                    gtin, keys[i][1], value, fields[at + 1] == b"1", fields[at + 2], product_state, owner, lot_states
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
        unit_recalled: bool,
        decommission: bytes,
        product_state: PackState,
        owner: str,
        lot_states: dict[str, PackState],
    ) -> StoredPack:
        # PackValue.decode, without the object: this runs for every pack of a bulk call.
        text = value.decode()
        lot = text[7:]
        if FIELD_SEPARATOR in lot:
            lot = lot.partition(FIELD_SEPARATOR)[0]
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
        script = self.scripts.set_level_state
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
            replies = await run_script_batch(self.redis, self.scripts.apply_changes, calls)
            for chunk, reply in zip(chunks, replies, strict=True):
                for i, done in zip(chunk, reply, strict=True):
                    applied[i] = bool(done)
        return applied

    async def record_events(self, events: Sequence[PackEventData]) -> int:
        """The verifier's sightings (and any events) of each pack, with their history, by their
        record codes (the caller checks the pack exists). All are checked and formatted first,
        so a bad one writes none; then they go to Redis in writes of ``SIGHTINGS_PER_WRITE``,
        each in a gap between status reads (one script call per GTIN in a write; a call's
        events travel as one argument of lines: packing it costs a join)."""
        groups: dict[str, list[PackEventData]] = {}
        for event in events:
            groups.setdefault(event.gtin, []).append(event)
        for code in dict.fromkeys(event.record for event in events):
            require_record_code(code)
        entries = EventLines()
        writes: list[list[tuple[list[str], list[Any]]]] = []
        room = 0  # left in the last write
        formatted = 0
        for gtin, group in groups.items():
            start = 0
            while start < len(group):
                if room == 0:
                    writes.append([])
                    room = SIGHTINGS_PER_WRITE
                chunk = group[start : start + room]
                start += len(chunk)
                room -= len(chunk)
                lines: list[bytes] = []
                serials = [e.serial.encode() for e in chunk]
                require_packable(serials)
                for e, serial in zip(chunk, serials, strict=True):
                    lines.append(entries.line(BUCKET_SUFFIXES[zlib.crc32(serial) & BUCKET_MASK], serial, e))
                    formatted += 1
                    if formatted % YIELD_EVERY_EVENTS == 0:
                        # A batch of the verifier's sightings is formatted in slices, so the
                        # status reads of questions waiting meanwhile are not held up by all of it.
                        await give_way()
                writes[-1].append(([product_key(gtin)], [HISTORY_LIMIT, event_lines(lines)]))
        for calls in writes:
            # Just after a status read: the next is furthest away, and neither this write nor
            # Redis's sync of its log holds it up.
            await self.status_read_gaps.next(SIGHTINGS_GAP_WAIT_SECONDS)
            await run_script_batch(self.redis, self.scripts.record_events, calls)
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
                    lines.append(BUCKET_SUFFIXES[zlib.crc32(serial) & BUCKET_MASK] + records[i].encode() + number + serial)
                entries = [history[pair] for pair in chunk_entries]
                calls.append(([product_key(gtin)], [HISTORY_LIMIT, place, len(entries), *entries, b"\n".join(lines)]))
        if calls:
            script = self.scripts.record_event_batch
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
        script = self.scripts.scope
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
