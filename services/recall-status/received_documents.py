"""DSCSA documents a buyer received from a seller on another network, recorded here by the buyer.

A seller on network A exports a shipment (``GET /v1/shipments/{id}/epcis``) and sends it to its
buyer, whose network this is. The gateway checks that the document is addressed to the buyer
(every shipping event names one of its GLNs as destination) and that its other events
(commissioning, packing) are about the units shipped only. Here each unit is one of two kinds:

- **hosted here** (its pack is stored on this network): the document proves nothing on its own
  (anyone can write EPCIS). Its commissioning must agree with the pack its manufacturer
  commissioned here, and custody moves only as a ``receiving`` by the buyer, which the custody
  rules accept only if the shipment to one of the buyer's GLNs is recorded here (by the seller,
  who also captures it on this network). The buyer then holds the unit for recalls here.
- **not hosted here** (no pack, and no product registered here): the units are answered by
  their own network (LMS is routed there, recalls are run there). The document is kept as the
  buyer's inbound transaction record: the TI and TS as sent and the units' history, which only
  the buyer reads (its pack history and the EPCIS query), followed by the buyer's receipt.
  Nobody else sees it and it changes nothing for anyone else, so a document written by the buyer
  itself gives it nothing it did not write.

A unit whose product is registered here but that was never commissioned here is refused: a
received document never commissions. Nothing is written unless every unit passes.

Keys (per buyer, under one hash tag, Redis Cluster safe):

``rcv:{<partner>}``   hash  record id (``record_id``: reference and a digest of the units) -> the
                            inbound record (JSON): reference, receiver GLN, receipt time, units,
                            the events as EPCIS 2.0 JSON with their notes
``rcvu:{<partner>}``  hash  unit (GTIN-14 + serial) -> id of its latest inbound record

The events are also added to the EPCIS query store (``event_store``) as captured by
``received.<partner>``, visible to the buyer only. Records are kept as long as the buyer's
account: the DSCSA asks a buyer to keep transaction information for six years.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from verinet.errors import Conflict, Forbidden
from verinet.recall_status import event_store
from verinet.recall_status.custody import Capture
from verinet.recall_status.custody_model import Actor, CustodyEvent
from verinet.recall_status.pack_store import PackRepository
from verinet.timestamps import utc

__all__ = ["ReceivedDocument", "ReceivedOutcome", "history", "record"]


def records_key(partner_id: str) -> str:
    return f"rcv:{{{partner_id}}}"


def units_key(partner_id: str) -> str:
    return f"rcvu:{{{partner_id}}}"


def capturer_of(partner_id: str) -> str:
    """Who the query store names as capturer of a received document's events: not the buyer,
    so its own shipments (``captured_by_caller``) never include what it received."""
    return f"received.{partner_id}"


@dataclass(frozen=True, slots=True)
class ReceivedDocument:
    """A received document as the gateway checked it."""

    reference: str
    receiver_gln: str
    events: tuple[CustodyEvent, ...]
    units: tuple[str, ...]
    received_at: float


@dataclass(frozen=True, slots=True)
class ReceivedOutcome:
    duplicate: bool
    units: int
    received: int = 0
    recorded: int = 0
    events: int = 0


def record_id(document: ReceivedDocument) -> str:
    """The inbound record's id: the shipment's reference and a digest of the units it ships
    (two sellers may use the same desadv number; the same document again is the same record)."""
    digest = hashlib.sha256("\n".join(sorted(document.units)).encode()).hexdigest()[:16]
    return f"{document.reference}|{digest}"


def _describe(key: str) -> str:
    return f"serial {key[14:]!r} of GTIN {key[:14]}"


async def record(repository: PackRepository, actor: Actor, now: dt.datetime, document: ReceivedDocument) -> ReceivedOutcome:
    """Receives the hosted units into the buyer's custody and keeps the inbound record, or
    refuses the whole document (``Conflict``, ``Forbidden``) and writes nothing."""
    redis = repository.redis
    if await redis.hexists(records_key(actor.partner_id), record_id(document)):
        return ReceivedOutcome(duplicate=True, units=len(document.units))
    capture = Capture(repository, actor, now)
    await capture.begin()  # one capture or received document at a time per partner
    try:
        hosted, kept = await _split(repository, document)
        if hosted:
            await capture.add([_receipt(document, hosted)])
            if capture.outcome.refused:
                refusal = capture.outcome.refusals[0]
                message = (
                    f"{refusal.message} Units hosted on this network change custody only on the shipments "
                    "recorded here: the seller records its shipment to you here, then you record the document."
                )
                error = Forbidden if refusal.kind == "forbidden" else Conflict
                raise error(message, code=refusal.code)
        await _keep(redis, actor.partner_id, document)
        if hosted:
            await capture.finish(commit=True)
    finally:
        await capture.release()
    return ReceivedOutcome(
        duplicate=False, units=len(document.units), received=len(hosted), recorded=len(kept), events=len(document.events)
    )


async def _split(repository: PackRepository, document: ReceivedDocument) -> tuple[list[str], list[str]]:
    """The units hosted here (their commissioning checked) and the units not hosted here."""
    claimed = {u: (e.lot, e.expiry) for e in document.events if e.biz_step == "commissioning" for u in e.units}
    stored = await repository.statuses([(u[:14], u[14:]) for u in document.units])
    owners = await repository.product_owners([u[:14] for u, s in zip(document.units, stored, strict=True) if s is None])
    hosted: list[str] = []
    kept: list[str] = []
    for unit, pack in zip(document.units, stored, strict=True):
        if pack is None:
            if unit[:14] in owners:
                raise Conflict(
                    f"{_describe(unit)} belongs to a product hosted on this network but was never commissioned here: "
                    "a received document does not commission units; their manufacturer does.",
                    code="received.not_commissioned",
                )
            kept.append(unit)
            continue
        lot_expiry = claimed.get(unit)
        if lot_expiry is not None and lot_expiry != (pack.record.lot, pack.record.expiry):
            raise Conflict(
                f"The document's commissioning of {_describe(unit)} gives another lot or expiry than its "
                "manufacturer commissioned on this network.",
                code="received.commissioning_differs",
            )
        hosted.append(unit)
    return hosted, kept


def _receipt(document: ReceivedDocument, units: Sequence[str]) -> CustodyEvent:
    """The buyer's receiving of the hosted units, at the GLN the shipment is addressed to."""
    digest = hashlib.sha256(f"received|{record_id(document)}|{document.receiver_gln}".encode()).digest()
    return CustodyEvent(
        index=0, event_id="", event_hash=digest, type="ObjectEvent", action="OBSERVE", biz_step="receiving",
        disposition="in_progress", event_time=document.received_at, location_gln=document.receiver_gln,
        units=tuple(units), biz_transactions=(document.reference,),
    )  # fmt: skip


async def _keep(redis: Any, partner_id: str, document: ReceivedDocument) -> None:
    capturer = capturer_of(partner_id)
    events = []
    for event in document.events:
        shown = event_store.epcis_event(event, capturer)
        events.append(shown | {"_notes": list(event.notes)})
    kept = {
        "reference": document.reference,
        "receiver_gln": document.receiver_gln,
        "received_at": document.received_at,
        "units": list(document.units),
        "events": events,
    }
    pipe = redis.pipeline(transaction=True)
    key = record_id(document)
    pipe.hset(records_key(partner_id), key, orjson.dumps(kept))
    pipe.hset(units_key(partner_id), mapping=dict.fromkeys(document.units, key))
    await pipe.execute()
    queryable = [({k: v for k, v in e.items() if k != "_notes"}, event_time(e), (partner_id,)) for e in events]
    await event_store.store(redis, capturer, queryable)


def event_time(event: dict[str, Any]) -> float:
    return dt.datetime.fromisoformat(event["eventTime"]).timestamp()


def _ancestors(events: Sequence[dict[str, Any]], unit: str) -> set[str]:
    """The cases and pallets the document packed the unit into, at any depth."""
    parent_of: dict[str, str] = {}
    for event in events:
        if event["type"] == "AggregationEvent" and event["action"] == "ADD" and event["_parent"]:
            for child in (*event["_units"], *event["_containers"]):
                parent_of[child] = event["_parent"]
    found: set[str] = set()
    current = parent_of.get(unit)
    while current and current not in found:
        found.add(current)
        current = parent_of.get(current)
    return found


async def history(redis: Any, partner_id: str, gtin: str, serial: str) -> dict[str, Any] | None:
    """The unit's history as the buyer's latest inbound record tells it (the seller's events,
    then the buyer's receipt), or ``None`` when the buyer recorded no document naming it."""
    reference = await redis.hget(units_key(partner_id), gtin + serial)
    if reference is None:
        return None
    blob = await redis.hget(records_key(partner_id), reference)
    if blob is None:  # pragma: no cover - both are written in one transaction
        return None
    kept = orjson.loads(blob)
    unit = gtin + serial
    around = _ancestors(kept["events"], unit) | {unit}
    entries: list[dict[str, Any]] = []
    lot = expiry = ""
    for event in kept["events"]:
        step = "packing" if event["type"] == "AggregationEvent" and event["action"] == "ADD" else event.get("bizStep", "")
        named = {*event["_units"]} if step == "commissioning" else {*event["_units"], *event["_containers"]}
        if not around & named:
            continue
        if step == "commissioning" and "ilmd" in event:
            lot = event["ilmd"].get("cbvmda:lotNumber", "")
            expiry = event["ilmd"].get("cbvmda:itemExpirationDate", "")
        references = [t["bizTransaction"] if "type" not in t else f"{t['type']} {t['bizTransaction']}" for t in event.get("bizTransactionList", ())]
        entry: dict[str, Any] = {
            "event": step,
            "partner": "",
            "gln": event["_gln"],
            "at": utc(event_time(event)),
            "detail": "; ".join([*references, *event["_notes"], f"eventID {event['eventID']}"])[:500],
        }
        if step == "shipping":
            entry["to"] = list(dict.fromkeys(d["destination"].rsplit("/", 1)[-1] for d in event.get("destinationList", ())))
        entries.append(entry)
    entries.append(
        {
            "event": "receiving",
            "partner": partner_id,
            "gln": kept["receiver_gln"],
            "at": utc(kept["received_at"]),
            "detail": kept["reference"],
        }
    )
    return {"gtin": gtin, "serial": serial, "lot": lot, "expiry": expiry, "hosted": False, "received": kept["reference"], "events": entries}
