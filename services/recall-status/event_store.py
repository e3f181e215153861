"""Captured EPCIS events, kept for the EPCIS 2.0 query interface, with who may see each.

When a capture is written, each applied event is stored once as its EPCIS 2.0 JSON (rebuilt from
what capture kept: EPCs and locations as GS1 Digital Links, CBV values as bare words) under
a hash of its capturer's (``epcq:ev:{<capturer>:<bucket>}``, 256 buckets by id), and added,
scored by event time, to the index of every partner who may see it: ``epcq:vis:{<partner>}``,
and ``epcq:all`` for admins. A capture's events are written a chunk at a time in a few commands. Who may see an event (the
trust model's visibility rule): the partner that captured it; the manufacturer of any unit it is
about; and whoever held those units when it happened (the sender sees its shipment received).
Nobody else: a partner that never held the units sees nothing of them.

A query walks one partner's index in event-time order from a page token, filters each event
(``EventQuery``), and stops after ``per_page`` matches.

Cost and bound: each event is stored once (its JSON) plus one sorted-set entry per viewer:
about 2.1 KiB of Redis memory for a one-unit shipping event seen by three partners, 2.6 KiB for
twelve units (``bench/event_store.py``). ``prune`` removes every event
that happened before a cut-off, its JSON and its entries in every index; recall-status runs it
hourly with the cut-off ``EPCIS_EVENT_RETENTION_DAYS`` (default 2190, six years, the DSCSA's
record-keeping period) before now, counted from each event's time. Custody, pack history and
recalls never read this store: pruning takes events out of the query interface only.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from verinet.epc import Sgtin, is_case_container
from verinet.errors import InvalidInput
from verinet.recall_status.key_families import tagged
from verinet.timestamps import utc_z_ms

GS1 = "https://id.gs1.org"
SCAN_BATCH = 500
MAX_PER_PAGE = 1000
ALL = "epcq:all"


def events_key(capturer: str, stored_id: str) -> str:
    """The hash holding a capturer's events, spread over 256 buckets by id."""
    return f"epcq:ev:{{{capturer}:{stored_id[:2]}}}"


#: The index of the events a partner may see, by its partner id.
visible_key = tagged("epcq:vis")


def _member(capturer: str, stored_id: str) -> str:
    return f"{capturer}|{stored_id}"


def _unit_link(key: str) -> str:
    return Sgtin(key[:14], key[14:]).as_digital_link()


def epcis_event(event: Any, partner_id: str) -> dict[str, Any]:
    """A captured event (``custody_model.CustodyEvent``) as an EPCIS 2.0 JSON event, with the
    canonical keys of its EPCs under ``_units``, ``_containers`` and ``_parent`` for queries."""
    when = dt.datetime.fromtimestamp(event.event_time, dt.UTC)
    stored_id = event.event_hash.hex()[:32]
    out: dict[str, Any] = {
        "type": event.type,
        "eventID": event.event_id or f"ni:///sha-256;{event.event_hash.hex()}?ver=CBV2.0",
        "eventTime": utc_z_ms(when),
        "eventTimeZoneOffset": "+00:00",
        "action": event.action,
    }
    containers = [c for c in event.containers if not is_case_container(c)]
    epcs = [_unit_link(u) for u in event.units] + [f"{GS1}/00/{c}" for c in containers]
    if event.type == "AggregationEvent":
        if event.parent:
            out["parentID"] = (
                _unit_link(event.parent.replace("+", "", 1)) if is_case_container(event.parent) else f"{GS1}/00/{event.parent}"
            )
        out["childEPCs"] = epcs
    else:
        out["epcList"] = epcs
    if event.biz_step:
        out["bizStep"] = event.biz_step
    if event.disposition:
        out["disposition"] = event.disposition
    if event.location_gln:
        out["bizLocation"] = {"id": f"{GS1}/414/{event.location_gln}"}
    transactions = []
    for text in event.biz_transactions:
        kind, _, reference = text.partition(" ")
        transactions.append({"type": kind, "bizTransaction": reference} if reference else {"bizTransaction": kind})
    if transactions:
        out["bizTransactionList"] = transactions
    for name, member, parties in (("sourceList", "source", event.sources), ("destinationList", "destination", event.destinations)):
        if parties:
            out[name] = [{"type": p.type, member: f"{GS1}/{'417' if p.type != 'location' else '414'}/{p.gln}"} for p in parties]
    if event.lot or event.expiry:
        expiry = f"20{event.expiry[:2]}-{event.expiry[2:4]}-{event.expiry[4:6]}" if event.expiry else ""
        out["ilmd"] = {"cbvmda:lotNumber": event.lot, "cbvmda:itemExpirationDate": expiry}
    out["_id"] = stored_id
    out["_by"] = partner_id
    out["_units"] = list(event.units)
    out["_containers"] = list(event.containers)
    out["_parent"] = event.parent
    out["_gln"] = event.location_gln
    return out


async def store(redis: Any, capturer: str, entries: Sequence[tuple[dict[str, Any], float, Iterable[str]]]) -> None:
    """Stores one capture's events (from ``epcis_event``, with their time) and adds each to the
    indexes of its viewers: a few commands a chunk, however many events it holds."""
    if not entries:
        return
    blobs: dict[str, dict[str, bytes]] = {}
    indexes: dict[str, dict[str, float]] = {ALL: {}}
    for event, score, viewers in entries:
        stored_id = event["_id"]
        blobs.setdefault(events_key(capturer, stored_id), {})[stored_id] = orjson.dumps(event)
        member = _member(capturer, stored_id)
        indexes[ALL][member] = score
        for partner_id in viewers:
            if partner_id:
                indexes.setdefault(visible_key(partner_id), {})[member] = score
    pipe = redis.pipeline(transaction=False)
    for key, fields in blobs.items():
        pipe.hset(key, mapping=fields)
    for key, members in indexes.items():
        pipe.zadd(key, members)
    await pipe.execute()


@dataclass
class EventQuery:
    """The filters of an EPCIS 2.0 SimpleEventQuery verinet supports; values already canonical
    (EPC keys: GTIN-14 + serial, or SSCC; GLNs; bare CBV words)."""

    match_epc: set[str] = field(default_factory=set)
    match_any_epc: set[str] = field(default_factory=set)
    match_parent_id: set[str] = field(default_factory=set)
    biz_steps: set[str] = field(default_factory=set)
    dispositions: set[str] = field(default_factory=set)
    biz_locations: set[str] = field(default_factory=set)
    read_points: set[str] = field(default_factory=set)
    event_ids: set[str] = field(default_factory=set)
    biz_transactions: set[str] = field(default_factory=set)
    captured_by: str = ""
    ge_time: float | None = None
    lt_time: float | None = None

    def matches(self, event: dict[str, Any]) -> bool:
        if self.captured_by and event["_by"] != self.captured_by:
            return False
        if self.biz_transactions and not any(
            _names_transaction(t.get("bizTransaction", ""), self.biz_transactions) for t in event.get("bizTransactionList", ())
        ):
            return False
        children = {*event["_units"], *event["_containers"]}
        if self.match_epc and not self.match_epc & children:
            return False
        if self.match_any_epc and not self.match_any_epc & {*children, event["_parent"]}:
            return False
        if self.match_parent_id and event["_parent"] not in self.match_parent_id:
            return False
        if self.biz_steps and event.get("bizStep", "") not in self.biz_steps:
            return False
        if self.dispositions and event.get("disposition", "") not in self.dispositions:
            return False
        # capture keeps one location per event (the bizLocation, else the readPoint)
        if self.biz_locations and event["_gln"] not in self.biz_locations:
            return False
        if self.read_points and event["_gln"] not in self.read_points:
            return False
        return not self.event_ids or event["eventID"] in self.event_ids


def _names_transaction(value: str, wanted: set[str]) -> bool:
    """Whether a bizTransaction value is one of ``wanted``, or ends with ``:`` or ``/`` and one."""
    return value in wanted or any(value.endswith((":" + w, "/" + w)) for w in wanted)


def _token(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode().rstrip("=")


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise _bad_token(token) from None


def _bad_token(token: str) -> InvalidInput:
    return InvalidInput(
        f"nextPageToken {token[:40]!r} is not one this server gave: start again without it.",
        code="epcis.page_token",
        field="nextPageToken",
    )


async def query(
    redis: Any, partner_id: str, is_admin: bool, wanted: EventQuery, per_page: int, token: str = ""
) -> tuple[list[dict[str, Any]], str]:
    """Up to ``per_page`` visible events matching ``wanted``, oldest first, and the token of the
    next page (``""`` when there is none). Pages continue from the index position of the last
    event looked at, so events of the same time are neither repeated nor skipped."""
    key = ALL if is_admin else visible_key(partner_id)
    if token:
        rank = await redis.zrank(key, _untoken(token))
        if rank is None:
            raise _bad_token(token)
        start = rank + 1
    elif wanted.ge_time is not None:
        start = await redis.zcount(key, "-inf", f"({wanted.ge_time!r}")
    else:
        start = 0
    found: list[dict[str, Any]] = []
    last = ""
    while True:
        batch = await redis.zrange(key, start, start + SCAN_BATCH - 1, withscores=True)
        if not batch:
            return found, ""
        pipe = redis.pipeline(transaction=False)
        for member, _ in batch:
            capturer, _, stored_id = member.decode().partition("|")
            pipe.hget(events_key(capturer, stored_id), stored_id)
        blobs = await pipe.execute()
        for (member, score), blob in zip(batch, blobs, strict=True):
            if wanted.lt_time is not None and score >= wanted.lt_time:
                return found, ""
            if len(found) == per_page:
                return found, _token(last)
            last = member.decode()
            if blob is not None:
                event = orjson.loads(blob)
                if wanted.matches(event):
                    found.append({k: v for k, v in event.items() if not k.startswith("_")})
        start += len(batch)


async def prune(redis: Any, before: float, batch: int = SCAN_BATCH) -> int:
    """Removes the events whose time is before ``before`` (Unix time) from the store and from
    every partner's index, a batch at a time; returns how many events were removed."""
    removed = 0
    cut = f"({before!r}"
    while members := await redis.zrangebyscore(ALL, "-inf", cut, start=0, num=batch):
        by_key: dict[str, list[str]] = {}
        for member in members:
            capturer, _, stored_id = member.decode().partition("|")
            by_key.setdefault(events_key(capturer, stored_id), []).append(stored_id)
        pipe = redis.pipeline(transaction=False)
        for key, ids in by_key.items():
            pipe.hdel(key, *ids)
        pipe.zrem(ALL, *members)
        await pipe.execute()
        removed += len(members)
    # A partner's index may still name removed events (a query skips those): trim each by time.
    async for key in redis.scan_iter(match="epcq:vis:*", count=1000):
        await redis.zremrangebyscore(key, "-inf", cut)
    return removed
