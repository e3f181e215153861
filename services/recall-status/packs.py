"""The hosted repository in Redis: products, commissioned packs and their states.

Key layout (every key of a GTIN carries the hash tag ``{gtin}`` so scripts and pipelines
that touch one GTIN stay in one Redis Cluster slot):

``prod:{G}``           hash  owner, name, state (A or W), created_at, withdrawn_at
``lotstate:{G}``       hash  lot -> state code (R when the whole lot is recalled)
``pk:{G}:<bucket>``    hash  serial -> <state code><expiry YYMMDD><lot>
``pd:{G}:<bucket>``    hash  serial -> last decommission "<state>|<unix time>|<partner>|<gln>"
``audit:{G}``          stream the tamper-evident chain of state changes of the GTIN's packs
``audithead:{G}``      string hash of the chain's last entry

Packs are spread over ``BUCKETS`` hashes per GTIN by a CRC of the serial, so each hash stays
small enough for Redis's compact listpack/ziplist encoding (see ``embedded_redis``): a pack
costs its serial, lot and expiry plus a few bytes. A lot recall or a product withdrawal is a
single field write, never one write per pack.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from verinet.errors import Forbidden, InvalidInput, NotFound
from verinet.packs import PackRecord, PackState

BUCKETS = 16384
_BUCKET_MASK = BUCKETS - 1


def product_key(gtin: str) -> str:
    return f"prod:{{{gtin}}}"


def lot_state_key(gtin: str) -> str:
    return f"lotstate:{{{gtin}}}"


def bucket_key(gtin: str, serial: str) -> str:
    bucket = zlib.crc32(serial.encode()) & _BUCKET_MASK
    return f"pk:{{{gtin}}}:{bucket:04x}"


def decommission_key(gtin: str, serial: str) -> str:
    bucket = zlib.crc32(serial.encode()) & _BUCKET_MASK
    return f"pd:{{{gtin}}}:{bucket:04x}"


def audit_key(gtin: str) -> str:
    return f"audit:{{{gtin}}}"


def audit_head_key(gtin: str) -> str:
    return f"audithead:{{{gtin}}}"


# Applies one decided change only if the pack is as it was read, together with its audit
# entry; each entry carries the hash of the one before it (SHA-1 is what Redis scripts offer;
# the chain is re-verified outside Redis by `verinet audit verify`).
APPLY_CHANGE_SCRIPT = r"""
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
end
local previous = redis.call('GET', KEYS[4]) or ''
local hash = redis.sha1hex(previous .. '\n' .. ARGV[5])
redis.call('XADD', KEYS[3], '*', 'entry', ARGV[5], 'prev', previous, 'hash', hash)
redis.call('SET', KEYS[4], hash)
return 1
"""


# Sets one field of a product- or lot-level hash and appends the audit entry, atomically;
# answers 0 when the field already holds the value (nothing to do, nothing audited).
SET_LEVEL_STATE_SCRIPT = r"""
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local previous = redis.call('GET', KEYS[3]) or ''
local hash = redis.sha1hex(previous .. '\n' .. ARGV[3])
redis.call('XADD', KEYS[2], '*', 'entry', ARGV[3], 'prev', previous, 'hash', hash)
redis.call('SET', KEYS[3], hash)
return 1
"""


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


@dataclass(frozen=True, slots=True)
class StoredPack:
    """A pack record with what an operation needs to decide and to write back safely."""

    record: PackRecord
    last_decommission: DecommissionRecord | None
    revision: bytes


def encode_pack(state: PackState, expiry: str, lot: str) -> bytes:
    return f"{state.stored}{expiry:<6.6}{lot}".encode()


def decode_pack(gtin: str, serial: str, value: bytes) -> tuple[PackState, str, str]:
    text = value.decode()
    return PackState.from_stored(text[0]), text[1:7].strip(), text[7:]


@dataclass(frozen=True, slots=True)
class Product:
    gtin: str
    owner_partner_id: str
    name: str
    state: PackState
    created_at: str


@dataclass(frozen=True, slots=True)
class CommissionOutcome:
    """Per-pack outcome: ``stored``, ``unchanged`` (same data already there) or ``conflict``."""

    status: str
    existing_lot: str = ""
    existing_expiry: str = ""


@dataclass(frozen=True, slots=True)
class NewPack:
    gtin: str
    serial: str
    lot: str
    expiry: str


class PackRepository:
    """Products and packs of the manufacturers hosted in this network."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def register_product(
        self, gtin: str, owner_partner_id: str, name: str, now: dt.datetime
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
        if not created and name and product.name != name:
            await self.redis.hset(key, "name", name)
            product = Product(gtin, product.owner_partner_id, name, product.state, product.created_at)
        return product, bool(created)

    async def product(self, gtin: str) -> Product | None:
        raw = await self.redis.hgetall(product_key(gtin))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        return Product(
            gtin=gtin,
            owner_partner_id=fields.get("owner", ""),
            name=fields.get("name", ""),
            state=PackState.from_stored(fields.get("state", "A")),
            created_at=fields.get("created_at", ""),
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

        Two round trips at most: HSETNX for all, then a read of the ones already there.
        """
        if not packs:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for pack in packs:
            pipe.hsetnx(
                bucket_key(pack.gtin, pack.serial),
                pack.serial,
                encode_pack(PackState.ACTIVE, pack.expiry, pack.lot),
            )
        created = await pipe.execute()
        existing_indexes = [i for i, was_set in enumerate(created) if not was_set]
        outcomes = [CommissionOutcome("stored") if was_set else None for was_set in created]
        if existing_indexes:
            pipe = self.redis.pipeline(transaction=False)
            for i in existing_indexes:
                pipe.hget(bucket_key(packs[i].gtin, packs[i].serial), packs[i].serial)
            values = await pipe.execute()
            for i, value in zip(existing_indexes, values, strict=True):
                _, expiry, lot = decode_pack(packs[i].gtin, packs[i].serial, value)
                if lot == packs[i].lot and expiry == packs[i].expiry:
                    outcomes[i] = CommissionOutcome("unchanged")
                else:
                    outcomes[i] = CommissionOutcome("conflict", lot, expiry)
        return [outcome for outcome in outcomes if outcome is not None]

    async def statuses(
        self, keys: Sequence[tuple[str, str]], *, with_decommission: bool = False
    ) -> list[StoredPack | None]:
        """Records for (gtin, serial) pairs; one round trip for the whole batch."""
        per_pack = 4 if with_decommission else 3
        pipe = self.redis.pipeline(transaction=False)
        for gtin, serial in keys:
            pipe.hget(bucket_key(gtin, serial), serial)
            pipe.hmget(product_key(gtin), "state", "owner")
            pipe.hgetall(lot_state_key(gtin))
            if with_decommission:
                pipe.hget(decommission_key(gtin, serial), serial)
        replies = await pipe.execute()
        records: list[StoredPack | None] = []
        for n, (gtin, serial) in enumerate(keys):
            value, (product_state, owner), lot_states = replies[per_pack * n : per_pack * n + 3]
            decommission = replies[per_pack * n + 3] if with_decommission else None
            if value is None:
                records.append(None)
                continue
            pack_state, expiry, lot = decode_pack(gtin, serial, value)
            lot_state = lot_states.get(lot.encode()) if lot_states else None
            record = PackRecord(
                    gtin=gtin,
                    serial=serial,
                    lot=lot,
                    expiry=expiry,
                    pack_state=pack_state,
                    lot_state=PackState.from_stored(lot_state.decode()) if lot_state else PackState.ACTIVE,
                    product_state=PackState.from_stored(product_state.decode())
                    if product_state
                    else PackState.ACTIVE,
                    owner_partner_id=owner.decode() if owner else "",
                )
            records.append(
                StoredPack(
                    record=record,
                    last_decommission=DecommissionRecord.decode(decommission) if decommission else None,
                    revision=value,
                )
            )
        return records

    async def withdraw_product(self, gtin: str, audit_entry: bytes) -> bool:
        """Marks a product withdrawn: one write, whatever the number of packs. Irreversible."""
        script = self.redis.register_script(SET_LEVEL_STATE_SCRIPT)
        changed = await script(
            keys=[product_key(gtin), audit_key(gtin), audit_head_key(gtin)],
            args=["state", PackState.WITHDRAWN.stored, audit_entry],
        )
        return bool(changed)

    async def apply(self, changes: Sequence[PackChange]) -> list[bool]:
        """Applies each change atomically with its audit entry, if the pack is unchanged."""
        script = self.redis.register_script(APPLY_CHANGE_SCRIPT)
        pipe = self.redis.pipeline(transaction=False)
        for change in changes:
            _, expiry, lot = decode_pack(change.gtin, change.serial, change.expected_revision)
            await script(
                keys=[
                    bucket_key(change.gtin, change.serial),
                    decommission_key(change.gtin, change.serial),
                    audit_key(change.gtin),
                    audit_head_key(change.gtin),
                ],
                args=[
                    change.serial,
                    change.expected_revision,
                    encode_pack(change.new_state, expiry, lot),
                    change.decommission.encode() if change.decommission else b"",
                    change.audit_entry,
                ],
                client=pipe,
            )
        return [bool(applied) for applied in await pipe.execute()]


def require_packs(packs: Sequence[NewPack], limit: int) -> None:
    if not packs:
        raise InvalidInput("Failed to commission: expected at least one pack, got none.", field="packs")
    if len(packs) > limit:
        raise InvalidInput(
            f"Failed to commission: expected at most {limit} packs a request, got {len(packs)}.",
            code="packs.too_many",
            field="packs",
        )
